package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// VerifyOptions tune VerifyRepo.
type VerifyOptions struct {
	Check repo.CheckSignature
	Now   time.Time // zero means time.Now()
}

// Problem is one thing wrong with a repository.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) String() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// VerifyRepo checks a published repository as a client would: the
// signatures of repo.json and every index, expiry, the chain, and every
// archive's size and sha256. It returns every problem found, not just the
// first.
func VerifyRepo(ctx context.Context, root string, opts VerifyOptions) ([]Problem, error) {
	if opts.Check == nil {
		return nil, errors.New("verify: a keyring is required")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var problems []Problem
	add := func(path string, err error) {
		rel, rerr := filepath.Rel(root, path)
		if rerr != nil {
			rel = path
		}
		problems = append(problems, Problem{Path: rel, Err: err})
	}
	readSigned := func(path string) ([]byte, bool) {
		data, err := os.ReadFile(path)
		if err != nil {
			add(path, fmt.Errorf("missing: run \"hotfix repo build\""))
			return nil, false
		}
		sig, err := os.ReadFile(path + repo.SigSuffix)
		if err != nil {
			add(path+repo.SigSuffix, fmt.Errorf("missing signature: run \"hotfix repo build\""))
			return nil, false
		}
		if err := opts.Check(data, sig); err != nil {
			add(path+repo.SigSuffix, err)
			return nil, false
		}
		return data, true
	}
	if data, ok := readSigned(filepath.Join(root, repo.RootIndexName)); ok {
		if ri, err := repo.ParseRootIndex(data); err != nil {
			add(filepath.Join(root, repo.RootIndexName), err)
		} else if now.After(ri.Expires) {
			add(filepath.Join(root, repo.RootIndexName), fmt.Errorf("expired on %s: run \"hotfix repo build\"", ri.Expires.Format(time.RFC3339)))
		}
	}
	channels, err := listChannels(root)
	if err != nil {
		return nil, err
	}
	type job struct {
		path string
		fix  repo.IndexFix
	}
	var jobs []job
	for _, ch := range channels {
		indexPath := filepath.Join(ch.Dir, repo.IndexName)
		data, ok := readSigned(indexPath)
		if !ok {
			continue
		}
		ix, err := repo.ParseIndex(data)
		if err != nil {
			add(indexPath, err)
			continue
		}
		if ix.Product != ch.Product || !ix.Base.Equal(ch.Base) {
			add(indexPath, fmt.Errorf("describes %s %s but lies in %s/%s", ix.Product, ix.Base, ch.Product, ch.Base))
		}
		if now.After(ix.Expires) {
			add(indexPath, fmt.Errorf("expired on %s: run \"hotfix repo build\"", ix.Expires.Format(time.RFC3339)))
		}
		indexed := map[string]bool{}
		rpms := map[string]string{}
		for _, f := range ix.Fixes {
			if isRPMName(f.File) {
				rpms[f.File] = f.SHA256
			} else if f.RPM != nil {
				rpms[f.RPM.File] = f.RPM.SHA256
			}
		}
		for _, err := range yum.Check(ch.Dir, opts.Check, rpms) {
			add(filepath.Join(ch.Dir, yum.Dir), err)
		}
		for _, f := range ix.Fixes {
			indexed[f.File] = true
			jobs = append(jobs, job{filepath.Join(ch.Dir, f.File), f})
			if f.RPM != nil {
				indexed[f.RPM.File] = true
				jobs = append(jobs, job{filepath.Join(ch.Dir, f.RPM.File), repo.IndexFix{Version: f.Version, File: f.RPM.File, Size: f.RPM.Size, SHA256: f.RPM.SHA256}})
			}
		}
		dirents, _ := os.ReadDir(ch.Dir)
		for _, d := range dirents {
			n := d.Name()
			if (strings.HasSuffix(n, ".fix") || strings.HasSuffix(n, ".rpm")) && !strings.HasPrefix(n, ".") && !indexed[n] {
				add(filepath.Join(ch.Dir, n), fmt.Errorf("not in the index: run \"hotfix repo build\""))
			}
		}
	}
	errs, err := forEach(ctx, len(jobs), func(i int) error {
		return repo.CheckFile(jobs[i].path, jobs[i].fix.Size, jobs[i].fix.SHA256)
	})
	if err != nil {
		return nil, err
	}
	for i, err := range errs {
		if err != nil {
			add(jobs[i].path, err)
		}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Path < problems[j].Path })
	return problems, nil
}
