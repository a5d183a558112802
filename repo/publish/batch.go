package publish

import (
	"fmt"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// fileBatch is the build's atomicfile.Batch: every published file of a
// build is replaced atomically with one parallel round of fsyncs instead
// of two per file (with a dozen files per build, sequential fsyncs cost
// more than the rest of an incremental build), renamed in the order added
// so the publishing order (data, then index, then signature) holds.
type fileBatch struct {
	atomicfile.Batch
}

// add writes data to a temporary file beside path.
func (b *fileBatch) add(path string, data []byte) error {
	return b.WriteBytes(path, data, 0o644)
}

// addSigned adds data and then its detached signature.
func (b *fileBatch) addSigned(path string, data []byte, signer repo.Signer) error {
	sig, err := signer.SignDetached(data)
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if err := b.add(path, data); err != nil {
		return err
	}
	return b.add(path+repo.SigSuffix, sig)
}
