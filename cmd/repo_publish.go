package cmd

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"time"

	"github.com/hotfix-project/hotfix/internal/lockfile"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/spf13/cobra"
)

type repoPublishOptions struct {
	Repo, Dest       string
	Endpoint, Region string
	DryRun, Prune    bool
	BreakLock        bool
	Timeout          time.Duration
}

func newRepoPublishCmd(g *globalOptions) *cobra.Command {
	opts := &repoPublishOptions{}
	c := &cobra.Command{
		Use:   "publish REPO DEST",
		Short: "Copy a built repository to object storage (s3://BUCKET/PREFIX) or a directory, in the safe order",
		Long: `Publish copies a built repository to DEST, s3://BUCKET/PREFIX or a directory
(a mounted web root), in the order that keeps every client working while it
runs: archives first, each created only where no object of that name is (an
archive already published with other bytes is refused, naming it); then
keys/; then each index directly followed by its signature; then the pages,
repo.json and its signature. Objects whose content is already there are
skipped (by MD5/ETag or the sha256 recorded in their metadata, never by size
or time). Archives get Cache-Control immutable, everything else no-cache.

Nothing is deleted unless --prune, and then only after the new indexes are
in place, and only archives and repodata that no index names.

A publish holds a lock at DEST (.hotfix-publish.lock): a second publish to
the same place is refused at once, naming the holder. On S3 a lock left by a
publish on this host that no longer runs is taken over; one from another
host is removed by --break-lock. A cut-off publish is finished by running it
again.

S3 credentials and region come from the standard AWS environment and
configuration (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE,
AWS_REGION, ~/.aws/config); --endpoint names an S3-compatible server
(path-style URLs).`,
		Example: `  hotfix repo publish ./repo s3://acme-fixes/repo
  hotfix repo publish ./repo s3://fixes/acme --endpoint https://minio.example:9000 --prune
  hotfix repo publish ./repo /mnt/www/fixes --dry-run`,
		Args:        cobra.ExactArgs(2),
		Annotations: jsonCommand,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo, opts.Dest = args[0], args[1]
			return runRepoPublish(c.Context(), g, opts)
		},
	}
	c.Flags().StringVar(&opts.Endpoint, "endpoint", "", "URL of an S3-compatible server (path-style addressing)")
	c.Flags().StringVar(&opts.Region, "region", "", "S3 region (default from the AWS configuration; us-east-1 with --endpoint)")
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be uploaded and deleted, change nothing")
	c.Flags().BoolVar(&opts.Prune, "prune", false, "after the new indexes are in place, delete archives and repodata no index names")
	c.Flags().BoolVar(&opts.BreakLock, "break-lock", false, "remove a lock left by a publish that no longer runs (S3)")
	c.Flags().DurationVar(&opts.Timeout, "timeout", publish.DefaultRequestTimeout, "deadline of each request to the destination")
	return c
}

func runRepoPublish(ctx context.Context, g *globalOptions, opts *repoPublishOptions) error {
	if opts.Timeout <= 0 {
		return usagef("repo publish: --timeout must be positive")
	}
	bucket, prefix, isS3, err := publish.ParseS3URL(opts.Dest)
	if err != nil {
		return usagef("repo publish: %v", err)
	}
	if !isS3 && (opts.Endpoint != "" || opts.Region != "") {
		return usagef("repo publish: --endpoint and --region are for an s3:// destination, not the directory %s", opts.Dest)
	}
	var dest publish.Destination
	if isS3 {
		dest, err = publish.NewS3Destination(ctx, publish.S3Options{Bucket: bucket, Prefix: prefix, Endpoint: opts.Endpoint, Region: opts.Region, RequestTimeout: opts.Timeout, Logger: g.logger})
	} else {
		var d *publish.DirDestination
		d, err = publish.NewDirDestination(opts.Dest)
		if err == nil {
			defer d.Close()
		}
		dest = d
	}
	if err != nil {
		return fmt.Errorf("repo publish: %w", err)
	}
	owner := "hotfix repo publish"
	if u, err := user.Current(); err == nil {
		owner += " by " + u.Username
	}
	res, err := publish.Publish(ctx, opts.Repo, dest, publish.PublishOptions{
		DryRun: opts.DryRun, Prune: opts.Prune, BreakLock: opts.BreakLock, Owner: owner, Logger: g.logger,
	})
	// --json prints only a publish that finished: a failed one is its
	// error and exit code, and a rerun reports the whole publish.
	if res != nil && opts.DryRun && !g.JSON {
		for _, a := range res.Actions {
			fmt.Fprintf(g.stdout, "%s %s\n", a.Op, a.Key)
		}
	}
	if err != nil {
		if errors.Is(err, lockfile.ErrLocked) && isS3 {
			return fmt.Errorf("repo publish: %w (if that publish no longer runs: --break-lock)", err)
		}
		return fmt.Errorf("repo publish: %w", err)
	}
	if g.JSON {
		return printJSON(g.stdout, repoPublishOut(res, opts))
	}
	if !g.Quiet {
		up, del := countActions(res.Actions)
		verb := "published"
		if opts.DryRun {
			verb = "would publish"
		}
		fmt.Fprintf(g.stderr, "%s %s to %s: %d uploaded, %d unchanged, %d deleted\n", verb, opts.Repo, dest, up, res.Unchanged, del)
	}
	return nil
}

// countActions counts a publish's uploads and deletes.
func countActions(actions []publish.Action) (up, del int) {
	for _, a := range actions {
		if a.Op == "delete" {
			del++
		} else {
			up++
		}
	}
	return up, del
}

// repoPublishJSON is `repo publish --json`.
type repoPublishJSON struct {
	Format    int                     `json:"format"`
	Repo      string                  `json:"repo"`
	Dest      string                  `json:"dest"`
	DryRun    bool                    `json:"dry_run"`
	Actions   []repoPublishJSONAction `json:"actions"` // in the order done (or, dry run, to be done)
	Uploaded  int                     `json:"uploaded"`
	Unchanged int                     `json:"unchanged"`
	Deleted   int                     `json:"deleted"`
}

type repoPublishJSONAction struct {
	Op  string `json:"op"` // "upload" or "delete"
	Key string `json:"key"`
}

func repoPublishOut(res *publish.PublishResult, opts *repoPublishOptions) repoPublishJSON {
	up, del := countActions(res.Actions)
	out := repoPublishJSON{Format: jsonFormat, Repo: opts.Repo, Dest: opts.Dest, DryRun: opts.DryRun,
		Actions: []repoPublishJSONAction{}, Uploaded: up, Unchanged: res.Unchanged, Deleted: del}
	for _, a := range res.Actions {
		out.Actions = append(out.Actions, repoPublishJSONAction{Op: a.Op, Key: a.Key})
	}
	return out
}
