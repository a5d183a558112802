package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/sign"
	"github.com/spf13/cobra"
)

type keyGenerateOptions struct {
	UID     string
	Secret  string
	Public  string
	RSABits int
}

func newKeyGenerateCmd(g *globalOptions) *cobra.Command {
	opts := &keyGenerateOptions{}
	c := &cobra.Command{
		Use:   "generate --uid 'Name <email>' --secret FILE --public FILE",
		Short: "Generate a new OpenPGP signing key for a repository",
		Long: `Generate makes a new OpenPGP signing key (Ed25519 by default, RSA with --rsa)
and writes its secret part to --secret (mode 0600) and its public part to
--public. Neither file may exist yet: an existing key is never overwritten.

If ` + passphraseEnv + ` is set, the secret key is encrypted with it; the
same variable unlocks the key when signing.

Hand the public key to every client out of band: it goes into their
trusted_keys directory. Keep the secret key offline and backed up.`,
		Example: `  HOTFIX_KEY_PASSPHRASE=... hotfix key generate --uid 'Example Releases <releases@example.com>' \
      --secret ~/keys/hotfix.sec.asc --public ./repo/keys/hotfix.pub.asc`,
		Args:        cobra.NoArgs,
		Annotations: jsonCommand,
		RunE:        func(c *cobra.Command, _ []string) error { return runKeyGenerate(c.Context(), g, opts) },
	}
	f := c.Flags()
	f.StringVar(&opts.UID, "uid", "", `user id of the key, "Name <email>" (required)`)
	f.StringVar(&opts.Secret, "secret", "", "file to write the secret key to, mode 0600 (required, must not exist)")
	f.StringVar(&opts.Public, "public", "", "file to write the public key to, mode 0644 (required, must not exist)")
	f.IntVar(&opts.RSABits, "rsa", 0, "make an RSA key of this many bits (2048, 3072 or 4096) instead of Ed25519")
	return c
}

func runKeyGenerate(_ context.Context, g *globalOptions, opts *keyGenerateOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	passphrase := []byte(os.Getenv(passphraseEnv))
	g.logger.Debug("generating key", "uid", opts.UID, "rsa_bits", opts.RSABits, "encrypted", len(passphrase) > 0)
	key, err := sign.GenerateKey(opts.UID, sign.KeyOptions{RSABits: opts.RSABits, Passphrase: passphrase})
	if err != nil {
		return err
	}
	sec, err := key.ArmoredSecret()
	if err != nil {
		return err
	}
	pub, err := key.ArmoredPublic()
	if err != nil {
		return err
	}
	if err := createKeyFile("secret", opts.Secret, sec, 0o600); err != nil {
		return err
	}
	if err := createKeyFile("public", opts.Public, pub, 0o644); err != nil {
		// The secret key is ours, seconds old, and useless without its
		// public half on record: do not leave it behind.
		os.Remove(opts.Secret)
		return err
	}

	algo := "ed25519"
	if opts.RSABits != 0 {
		algo = fmt.Sprintf("rsa%d", opts.RSABits)
	}
	if g.JSON {
		return printJSON(g.stdout, map[string]any{
			"format":      jsonFormat,
			"fingerprint": key.Fingerprint(),
			"algorithm":   algo,
			"uid":         opts.UID,
			"secret":      opts.Secret,
			"public":      opts.Public,
			"encrypted":   len(passphrase) > 0,
		})
	}
	if g.Quiet {
		fmt.Fprintln(g.stdout, key.Fingerprint())
		return nil
	}
	protection := "encrypted with " + passphraseEnv
	if len(passphrase) == 0 {
		protection = "NOT encrypted: set " + passphraseEnv + " to protect a key"
	}
	fmt.Fprintf(g.stdout, "generated %s key %s\n", algo, key.Fingerprint())
	fmt.Fprintf(g.stdout, "  uid:        %s\n", opts.UID)
	fmt.Fprintf(g.stdout, "  secret key: %s (mode 0600, %s; keep it private and backed up)\n", opts.Secret, protection)
	fmt.Fprintf(g.stdout, "  public key: %s\n", opts.Public)
	fmt.Fprintf(g.stdout, "hint: hand %s to every client out of band: it goes into their trusted_keys directory\n", opts.Public)
	return nil
}

// validate refuses bad flags and existing key files before a key is made
// (an RSA key takes a while).
func (opts *keyGenerateOptions) validate() error {
	switch {
	case opts.UID == "":
		return usagef(`--uid is required, e.g. --uid "Example Releases <releases@example.com>"`)
	case opts.Secret == "":
		return usagef("--secret FILE is required")
	case opts.Public == "":
		return usagef("--public FILE is required")
	case opts.RSABits != 0 && !sign.ValidRSABits(opts.RSABits):
		return usagef("--rsa %d: supported sizes are 2048, 3072 and 4096", opts.RSABits)
	}
	if _, _, err := sign.ParseUID(opts.UID); err != nil {
		return &usageError{fmt.Errorf("--uid: %w", err)}
	}
	if sameFile(opts.Secret, opts.Public) {
		return usagef("--secret and --public name the same file %s", opts.Secret)
	}
	for _, p := range []struct{ what, path string }{{"secret", opts.Secret}, {"public", opts.Public}} {
		if _, err := os.Lstat(p.path); err == nil {
			return existingKeyError(p.what, p.path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s key file: %w", p.what, err)
		}
	}
	return nil
}

// createKeyFile writes a new key file, never replacing one.
func createKeyFile(what, path string, data []byte, perm os.FileMode) error {
	err := atomicfile.CreateNew(path, data, perm)
	if errors.Is(err, fs.ErrExist) {
		// Someone made it since validate looked.
		return existingKeyError(what, path)
	}
	if err != nil {
		return fmt.Errorf("write %s key: %w", what, err)
	}
	return nil
}

func existingKeyError(what, path string) error {
	return fmt.Errorf("%s key file %s already exists: refusing to overwrite it (move it away or choose another name)", what, path)
}

func sameFile(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
