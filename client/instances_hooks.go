package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hotfix-project/hotfix/repo"
)

// treeHooks runs the host's [hooks] once around a tree run rather than
// around each instance: the hooks belong to the host (an [[instance]]
// table has none of its own), and what they do there, such as stopping
// and starting the service that serves every instance, must not happen
// once per instance (a sibling's post_install would start the service
// while another sibling is being patched). pre_install runs when the
// first instance is about to install its first fix, while every other
// instance waits for it; post_install and health_check run once after
// the whole tree, whenever pre_install ran.
type treeHooks struct {
	host *Client // the host's configuration: its hooks, log_dir, state_dir
	mu   sync.Mutex
	ran  bool  // pre_install was run (or there was none to run)
	err  error // pre_install's error, which every instance then meets
}

// pre runs pre_install once, for the first instance to install; the
// others wait for it and get its outcome.
func (h *treeHooks) pre(ctx context.Context, todo []repo.IndexFix) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ran {
		h.ran = true
		h.err = h.host.runHook(ctx, "pre_install", h.host.Cfg.Hooks.PreInstall, todo)
	}
	return h.err
}

// after runs post_install and health_check once for the whole run when
// pre_install ran. An unhealthy host takes back this run's fixes from
// every instance, children first, each to the level it had before the
// run; the instances that lose their fixes fail with the health check's
// error. A failed post_install on a healthy host leaves the fixes and is
// returned.
func (t *Tree) afterHooks(ctx context.Context, h *treeHooks, rs []InstanceResult) error {
	h.mu.Lock()
	ran, preErr := h.ran, h.err
	h.mu.Unlock()
	if !ran || preErr != nil {
		return nil // nothing was installed: pre_install stopped every instance
	}
	var fixes []repo.IndexFix
	for _, r := range rs {
		for _, f := range r.Installed {
			if !containsVersion(fixes, f.Version) {
				fixes = append(fixes, f)
			}
		}
	}
	host := h.host
	postErr := host.runHook(ctx, "post_install", host.Cfg.Hooks.PostInstall, fixes)
	err := host.runHook(ctx, "health_check", host.Cfg.Hooks.HealthCheck, fixes)
	if err == nil {
		if postErr == nil {
			return nil
		}
		health := "health_check passed"
		if host.Cfg.Hooks.HealthCheck == "" {
			health = "no health_check is configured"
		}
		return fmt.Errorf("%w; %s, so the fixes of this run stay installed and recorded on every instance: do by hand what post_install should have done", postErr, health)
	}
	if postErr != nil {
		err = fmt.Errorf("%w; before it, %w", err, postErr)
	}
	t.takeBack(ctx, rs, err)
	return nil
}

// takeBack rolls back the fixes this run installed, children first, each
// instance to the level it had before the run, and marks those instances
// failed with why.
func (t *Tree) takeBack(ctx context.Context, rs []InstanceResult, why error) {
	for i := len(rs) - 1; i >= 0; i-- {
		r := &rs[i]
		if len(r.Installed) == 0 && len(r.custom) == 0 {
			continue
		}
		did := "nothing"
		if len(r.Installed) > 0 {
			did = fmt.Sprintf("the fixes of this run (%s) were rolled back", describeVersions(versionsOf(r.Installed)))
		}
		err := fmt.Errorf("%w; %s on %s", why, did, r.Name)
		cl, cerr := t.Client(r.Name)
		if cerr == nil {
			// Customer fixes first, as afterInstall does.
			var customs string
			customs, cerr = cl.takeBackInstance(ctx, r.before, len(r.Installed) > 0, r.custom, r.beforeCustom)
			if customs != "" && len(r.Installed) > 0 {
				err = fmt.Errorf("%w; %s there", err, customs)
			} else if customs != "" {
				err = fmt.Errorf("%w; %s on %s", why, customs, r.Name)
			}
			r.Level, _ = recordedLevel(cl)
			if cerr == nil {
				cl.syncCluster(nil) // a primary's record goes back down with it
			}
		}
		if cerr != nil {
			err = fmt.Errorf("%w, but rolling back failed: %w", why, cerr)
		} else {
			r.Installed, r.custom = nil, nil
		}
		r.Outcome, r.Err = OutcomeFailed, err
	}
}

func containsVersion(fs []repo.IndexFix, v repo.Version) bool {
	for _, f := range fs {
		if f.Version.Equal(v) {
			return true
		}
	}
	return false
}

// hookInstances is HOTFIX_INSTANCES of a tree's hooks: the selected
// instances, parents first, separated by spaces (names hold none).
func (t *Tree) hookInstances() string {
	names, err := t.Order()
	if err != nil {
		return ""
	}
	return strings.Join(names, " ")
}

// newTreeHooks prepares the hooks of a tree install; nil for a dry run
// (which runs no hook) and for a configuration of one installation
// (whose own install runs them). A hook a crashed run left running is
// stopped first, as recover does for one installation.
func (t *Tree) newTreeHooks(ctx context.Context, opts InstallOptions) (*treeHooks, error) {
	if opts.DryRun || len(t.Cfg.Instances) == 0 {
		return nil, nil
	}
	host := &Client{Cfg: t.Cfg, Log: t.Log, Now: t.Now, hookInstances: t.hookInstances()}
	if _, err := host.stopHook(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return &treeHooks{host: host}, nil
}
