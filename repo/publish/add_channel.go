package publish

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hotfix-project/hotfix/repo"
)

// AddChannel declares the channel of a new base with no fix yet: the
// directory PRODUCT/BASE, which the next Build publishes as a signed,
// empty index and lists in repo.json. Clients on that base then hear "no
// fixes published yet" instead of a 404 every night. It reports whether
// the channel is new; declaring an existing channel again does nothing.
func AddChannel(root, product string, base repo.Version) (bool, error) {
	if err := checkRepoRoot(root); err != nil {
		return false, err
	}
	if err := repo.ValidProductName(product); err != nil {
		return false, err
	}
	if base.IsZero() {
		return false, errors.New("no base version given")
	}
	dir := filepath.Join(root, product, base.String())
	fi, err := os.Lstat(dir)
	switch {
	case err == nil && fi.IsDir():
		return false, nil
	case err == nil:
		return false, fmt.Errorf("%s exists and is not a directory: remove it first", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create channel %s %s: %w", product, base, err)
	}
	return true, nil
}
