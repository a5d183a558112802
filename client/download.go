package client

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/hotfix-project/hotfix/repo"
)

// Downloaded is one archive in the cache.
type Downloaded struct {
	Fix    repo.IndexFix
	Custom *repo.CustomIndexFix // a customer fix (Fix is then zero)
	Path   string
}

// Download fetches the pending archives (up to target, when given, held
// ones included) into
// the cache, verified. progress, when set, returns a writer that hears
// the bytes of one file.
func (c *Client) Download(ctx context.Context, target *repo.Version, progress func(f repo.IndexFix) io.Writer) ([]Downloaded, error) {
	res, err := c.Check(ctx)
	if err != nil {
		return nil, err
	}
	// Checked first: a version past the end of the chain would otherwise
	// download every pending fix and report success.
	if target != nil {
		if _, ok := res.Index.Fix(*target); !ok {
			return nil, fmt.Errorf("fix %s is not in the index of %s %s", target, res.Product, res.Base)
		}
	}
	// Named by version, held fixes come too (as for install VERSION).
	todo := res.Pending
	if target != nil {
		todo = res.Through(*target)
	}
	var out []Downloaded
	for _, f := range todo {
		dest := filepath.Join(c.channelCache(res.Base), f.File)
		var w io.Writer
		if progress != nil {
			w = progress(f)
		}
		if err := c.Fetcher.Download(ctx, res.Product+"/"+res.Base.String()+"/"+f.File, dest, f.Size, f.SHA256, w); err != nil {
			return out, fmt.Errorf("download %s: %w", f.Version, err)
		}
		out = append(out, Downloaded{Fix: f, Path: dest})
	}
	if target == nil && res.Custom != nil {
		for _, f := range res.Custom.Pending {
			dest, err := c.downloadCustom(ctx, res.Base, f, nil)
			if err != nil {
				return out, err
			}
			out = append(out, Downloaded{Custom: &f, Path: dest})
		}
	}
	return out, nil
}
