package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/internal/statefile"
	"github.com/hotfix-project/hotfix/repo"
)

// ErrStateLost means state.json is missing, empty, damaged or older than
// the backups of installed fixes prove; see StateLostError.
var ErrStateLost = errors.New("installed state lost")

// StateLostError refuses to go on from a state.json that does not list
// fixes whose backups exist. Starting afresh would treat them as not
// installed, install them again over themselves and overwrite the
// backups of the original files with the fixed ones, after which no
// rollback could bring the originals back.
type StateLostError struct {
	Path    string
	Problem string         // "is missing", "is damaged (...)", "does not list them"
	Backed  []repo.Version // fixes of the base with backups the state does not list
	Backups string         // the directory holding those backups
	// Custom names the customer fixes ("customer fix ID VERSION") whose
	// backups (in CustomBackups) the state does not list.
	Custom        []string
	CustomBackups string
}

func (e *StateLostError) Error() string {
	if len(e.Backed) == 0 && len(e.Custom) == 0 {
		return fmt.Sprintf("%s: %s %s: restore it from a backup, or run \"hotfix recover\" to rebuild it from the fixes' backups and the audit log; hotfix will not guess what is installed", ErrStateLost, e.Path, e.Problem)
	}
	var where []string
	if len(e.Backed) > 0 {
		where = append(where, fmt.Sprintf("the backups of %s in %s", joinVersions(e.Backed), e.Backups))
	}
	if len(e.Custom) > 0 {
		where = append(where, fmt.Sprintf("the backups of %s in %s", strings.Join(e.Custom, ", "), e.CustomBackups))
	}
	return fmt.Sprintf("%s: %s %s, but %s show they are installed; installing or rolling back now would destroy the backups of the original files: run \"hotfix recover\", which rebuilds it from those backups and the audit log (or restore %s from a backup)",
		ErrStateLost, e.Path, e.Problem, strings.Join(where, " and "), stateName)
}

// lost is the StateLostError of a state that does not list the fixes
// whose backups exist.
func (c *Client) lost(path, problem string, backed []repo.Version, custom []customBackup) *StateLostError {
	e := &StateLostError{Path: path, Problem: problem, Backed: backed, Backups: c.backupsRoot(), CustomBackups: filepath.Join(c.Cfg.StateDir, customStoreDir)}
	for _, b := range custom {
		e.Custom = append(e.Custom, b.String())
	}
	return e
}

// Is makes errors.Is(err, ErrStateLost) hold.
func (e *StateLostError) Is(target error) bool { return target == ErrStateLost }

// state loads state.json and checks it against the fixes' backups of
// base: every fix of base whose backups exist must be listed as
// installed (or as superseded on base, after a base came back). It is
// what every command that trusts the state reads; only recover goes on
// past a *StateLostError, to rebuild.
func (c *Client) state(base repo.Version) (*State, error) {
	path := filepath.Join(c.Cfg.StateDir, stateName)
	st, found, err := stateFile(c.Cfg.StateDir).Load()
	var damaged *statefile.DamagedError
	if errors.As(err, &damaged) {
		problem := fmt.Sprintf("is damaged (%v)", damaged.Err)
		if fi, serr := os.Stat(path); serr == nil && fi.Size() == 0 {
			problem = "is empty"
		}
		return nil, c.lost(path, problem, c.unlisted(&State{}, base), c.unlistedCustoms(&State{}))
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if un, cu := c.unlisted(st, base), c.unlistedCustoms(st); len(un)+len(cu) > 0 {
		problem := "does not list them"
		if !found {
			problem = "is missing"
		}
		return nil, c.lost(path, problem, un, cu)
	}
	c.ensureFileDB(st)
	return st, nil
}

func (c *Client) backupsRoot() string { return filepath.Join(c.Cfg.StateDir, "backups") }

// unlisted lists the fixes of base whose backups exist but which st
// lists neither as installed nor as superseded on base. An unreadable
// backups directory lists nothing: its own error comes at rollback.
func (c *Client) unlisted(st *State, base repo.Version) []repo.Version {
	committed, err := c.store().Committed()
	if err != nil {
		c.Log.Warn("list backups", "err", err)
	}
	var out []repo.Version
	for _, v := range committed {
		if !v.Base().Equal(base) || st.lists(v, base) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// lists reports whether st records v, a fix of base, as installed or as
// superseded while base was installed.
func (s *State) lists(v, base repo.Version) bool {
	if s.Base.Equal(base) && s.IsInstalled(v) {
		return true
	}
	for _, f := range s.Superseded {
		if f.Base.Equal(base) && f.Version.Equal(v) {
			return true
		}
	}
	return false
}

// describeVersions is "2.4.1.1, 2.4.1.2" or "none".
func describeVersions(vs []repo.Version) string {
	if len(vs) == 0 {
		return "none"
	}
	return joinVersions(vs)
}

// sentence joins clauses with "; ".
func sentence(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
