package tour

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/publish"
	"github.com/hotfix-project/hotfix/sign"
)

// The fleet act: what a vendor with many customers' servers does after
// the first install, on the same sample: check the installed files,
// stage a fix, publish to a web root, and rotate the signing key without
// touching the server.

// stagedFix is the sample fix the tour stages (the one it rolled back).
var stagedFix = repo.MustParseVersion("2.4.1.3")

// editedFile is the file the tour changes by hand for verify to find.
const editedFile = "lib/tax.php"

// fleet plays the second act; it runs after the first install and
// rollback.
func (t *tour) fleet(ctx context.Context) error {
	for _, step := range []func(context.Context) error{t.verify, t.stage, t.release, t.publishDir, t.rotate} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// verify shows the file database: a hand edit is found and named with
// the fix that put the file there, then put back.
func (t *tour) verify(ctx context.Context) error {
	path := filepath.Join(t.root, filepath.FromSlash(editedFile))
	t.begin("Server: verify the installed files against what their fixes put there (like rpm -V)", "hotfix verify; hotfix owns "+path)
	orig, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, append(append([]byte(nil), orig...), "// quick fix by hand\n"...), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	rep, err := t.client.VerifyFiles(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(rep.Problems) != 1 || !strings.HasSuffix(rep.Problems[0].Path, editedFile) {
		return fmt.Errorf("demo: verify after a hand edit of %s found %d problems", editedFile, len(rep.Problems))
	}
	p := rep.Problems[0]
	fmt.Fprintf(t.out, "   %d files checked; %s edited by hand: %s changed (put there by fix %s)\n", rep.Checked, editedFile, strings.Join(p.Changed, ", "), p.Fix)
	own, err := t.client.Owns(path)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if own.Owner == nil {
		return fmt.Errorf("demo: owns %s: no owner", editedFile)
	}
	fmt.Fprintf(t.out, "   %s is owned by fix %s\n", editedFile, own.Owner.Fix)
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if rep, err = t.client.VerifyFiles(ctx); err != nil {
		return fmt.Errorf("demo: verify after putting %s back: %w", editedFile, err)
	}
	if len(rep.Problems) != 0 {
		return fmt.Errorf("demo: verify after putting %s back: %d problems", editedFile, len(rep.Problems))
	}
	fmt.Fprintf(t.out, "   put back: all %d files as installed\n", rep.Checked)
	return nil
}

// rollout records a new rollout stage of the staged fix and signs it in.
func (t *tour) rollout(ctx context.Context, change publish.RolloutChange) error {
	change.Version = stagedFix
	if _, err := publish.SetRollout(ctx, t.repoDir, change, publish.RolloutOptions{Logger: t.log}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return t.rebuild(ctx, t.key.Signer())
}

// rebuild signs the indexes again after a vendor-side change.
func (t *tour) rebuild(ctx context.Context, signer *sign.Signer) error {
	_, err := publish.Build(ctx, t.repoDir, publish.BuildOptions{Signer: signer, Logger: t.log})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// stage puts the newest fix in the testing ring: this (stable) server
// holds it back and says why.
func (t *tour) stage(ctx context.Context) error {
	t.begin("Vendor: stage "+stagedFix.String()+" to the testing ring first; the server (stable ring) holds it back",
		"hotfix repo rollout repo "+stagedFix.String()+" --testing && hotfix repo build repo --key vendor.sec; then on the server: hotfix check")
	if err := t.rollout(ctx, publish.RolloutChange{Testing: true}); err != nil {
		return err
	}
	res, err := t.client.Check(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if len(res.Pending) != 0 || len(res.Held) != 1 {
		return fmt.Errorf("demo: staged %s: %d pending, %d held", stagedFix, len(res.Pending), len(res.Held))
	}
	fmt.Fprintf(t.out, "   %s held back: %s\n", res.Held[0].Fix.Version, res.Held[0].Reason)
	return nil
}

// release lets the staged fix reach every server, and the server
// installs it.
func (t *tour) release(ctx context.Context) error {
	t.begin("Vendor: release "+stagedFix.String()+" to every server; the server installs it",
		"hotfix repo rollout repo "+stagedFix.String()+" --full && hotfix repo build repo --key vendor.sec; then on the server: hotfix install --yes")
	if err := t.rollout(ctx, publish.RolloutChange{Full: true}); err != nil {
		return err
	}
	_, err := t.installPending(ctx)
	return err
}

// publishDir publishes the repository to a web root in the safe order
// (archives, then indexes each before its signature, then repo.json);
// s3://BUCKET/PREFIX works the same way.
func (t *tour) publishDir(ctx context.Context) error {
	www := filepath.Join(t.dir, "www")
	t.begin("Vendor: publish to a web root in the safe order (or to s3://BUCKET/PREFIX)", "hotfix repo publish repo "+www)
	for run := 1; run <= 2; run++ {
		dest, err := publish.NewDirDestination(www)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		res, err := publish.Publish(ctx, t.repoDir, dest, publish.PublishOptions{Logger: t.log})
		if cerr := dest.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		what := "first publish"
		if run == 2 {
			what = "again, nothing changed"
		}
		fmt.Fprintf(t.out, "   %s: %d objects written, %d unchanged\n", what, len(res.Actions), res.Unchanged)
	}
	return nil
}

// rotate hands index signing to a new key through a key list signed by
// the key the server already trusts: the server walks the list and
// accepts the new signer, with nothing changed on it.
func (t *tour) rotate(ctx context.Context) error {
	t.begin("Vendor: rotate the signing key; the server follows the signed key list, untouched",
		"hotfix key generate --uid \"Acme Fixes signing 2027\" --secret signing-2027.sec --public signing-2027.pub && hotfix repo trust repo --root-key vendor.sec --signing signing-2027.pub && hotfix repo build repo --key signing-2027.sec")
	next, err := sign.GenerateKey("Acme Fixes signing 2027 <fixes@acme.example>", sign.KeyOptions{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	pub, err := next.ArmoredPublic()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	tr, err := publish.Trust(ctx, t.repoDir, publish.TrustOptions{RootSigners: []*sign.Signer{t.key.Signer()}, Signing: [][]byte{pub}, Logger: t.log})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := t.rebuild(ctx, next.Signer()); err != nil {
		return err
	}
	fmt.Fprintf(t.out, "   %s: root key %s, signing key %s\n", filepath.ToSlash(filepath.Join("keys", filepath.Base(tr.Path))), t.key.Fingerprint(), next.Fingerprint())
	res, err := t.client.Check(ctx)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(t.out, "   server check: index signed by the new key accepted, %d pending (trusted_keys unchanged)\n", len(res.Pending))
	return nil
}
