package bundle

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// Format is the version of the bundle format Write writes. Format 2
// puts keys/ before the index (a key list is needed to verify an index
// signed under it) and adds repo.json, the repodata and customer
// channels; Read reads format 1 bundles too.
const Format = 2

// minFormat is the oldest format Read reads.
const minFormat = 1

// HeaderName is the first entry of every bundle; its presence, first, is
// how a bundle is told from other tar files.
const HeaderName = "hotfix-export.json"

// Bounds on the entries that come before the verified index names sizes.
const (
	maxHeaderSize = 4 << 10
	maxSigSize    = 64 << 10
	// MaxKeySize and MaxKeys bound the keys/ files a bundle may carry.
	MaxKeySize = 1 << 20
	MaxKeys    = 256
	// MaxTrailingZeros is how much padding may follow the end-of-archive
	// marker (tar pads to its record size, 10 KiB by default).
	MaxTrailingZeros = 1 << 20
)

// Header is the bundle's first entry: what it claims to hold. Nothing in
// it is trusted: Read compares it with the verified index.
type Header struct {
	Format  int          `json:"format"`
	Product string       `json:"product"`
	Base    repo.Version `json:"base"`
	// From is the first fix whose archives the bundle carries; absent
	// when it carries the whole channel.
	From *repo.Version `json:"from,omitempty"`
	// Root says that repo.json and its signature follow the keys
	// (format 2, where the repository has them).
	Root bool `json:"root,omitempty"`
	// Repodata says that the channel's yum repodata follows its archives
	// (format 2, where the channel has RPMs).
	Repodata bool `json:"repodata,omitempty"`
	// Customers are the customer channels that follow, sorted (format 2).
	Customers []string `json:"customers,omitempty"`
}

// FromVersion is From, or the zero version for the whole channel.
func (h *Header) FromVersion() repo.Version {
	if h.From == nil {
		return repo.Version{}
	}
	return *h.From
}

// channelDir is the bundle's folder of the channel, as in a repository.
func (h *Header) channelDir() string { return h.Product + "/" + h.Base.String() }

// IndexEntry and SigEntry name the index and its signature inside the
// bundle.
func (h *Header) IndexEntry() string { return h.channelDir() + "/" + repo.IndexName }

// SigEntry names the index's signature inside the bundle.
func (h *Header) SigEntry() string { return h.IndexEntry() + repo.SigSuffix }

// CheckKeyListOrder refuses, before its signature is checked, an index
// signed under key-list version keyList in a format 1 bundle: its keys/
// (the key lists the index is verified by) come after the index, too
// late to walk them.
func (h *Header) CheckKeyListOrder(keyList int64) error {
	if h.Format < 2 && keyList > 0 {
		return &Error{Entry: h.IndexEntry(), Err: fmt.Errorf("signed under key list version %d, but this bundle (format %d) carries keys/ after the index, too late to verify it: export the bundle again with a hotfix release that writes format %d",
			keyList, h.Format, Format)}
	}
	return nil
}

// repoMDEntry names the channel's repomd.xml inside the bundle.
func (h *Header) repoMDEntry() string { return h.channelDir() + "/" + repodataDir + "repomd.xml" }

// Names of the format (repo/yum's, which this package may not import).
const (
	rootEntry   = repo.RootIndexName
	indexName   = repo.IndexName
	sigSuffix   = repo.SigSuffix
	repodataDir = "repodata/"
	// maxRepodata bounds the data files of a repomd.xml a reader that
	// does not parse it skips, and maxRepodataSize each one's size.
	maxRepodata     = 64
	maxRepodataSize = 1 << 30
	maxRepoMDSize   = 1 << 20
)

// customDir is the bundle's folder of a customer channel.
func (h *Header) customDir(customer string) string {
	return repo.CustomIndexPath(h.Product, h.Base, customer)
}

func (h *Header) validate() error {
	if h.Format < minFormat || h.Format > Format {
		return fmt.Errorf("bundle format %d is not supported (this hotfix reads %d to %d): use the hotfix release that exported it, or a newer one", h.Format, minFormat, Format)
	}
	if err := repo.ValidProductName(h.Product); err != nil {
		return err
	}
	if h.Base.IsZero() {
		return fmt.Errorf("no base")
	}
	if h.Format < 2 && (h.Root || h.Repodata || len(h.Customers) > 0) {
		return fmt.Errorf("format %d carries no repo.json, repodata or customer channels", h.Format)
	}
	for i, c := range h.Customers {
		if err := repo.ValidCustomerName(c); err != nil {
			return err
		}
		if i > 0 && c <= h.Customers[i-1] {
			return fmt.Errorf("customers out of order or repeated at %q", c)
		}
	}
	return nil
}

// parseHeader decodes the first entry strictly.
func parseHeader(data []byte) (*Header, error) {
	var h Header
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", HeaderName, err)
	}
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", HeaderName, err)
	}
	return &h, nil
}

// Carried lists the fixes of ix whose archives a bundle starting at from
// carries, in chain order (zero from: all).
func Carried(ix *repo.Index, from repo.Version) []repo.IndexFix {
	var out []repo.IndexFix
	for _, f := range ix.Fixes {
		if from.IsZero() || f.Version.Compare(from) >= 0 {
			out = append(out, f)
		}
	}
	return out
}

// files lists the (name, size, sha256) of fixes' archives in bundle order.
func files(fixes []repo.IndexFix) []FileRef {
	var out []FileRef
	for _, f := range fixes {
		out = append(out, FileRef{f.File, f.Size, f.SHA256})
		if f.RPM != nil {
			out = append(out, FileRef{f.RPM.File, f.RPM.Size, f.RPM.SHA256})
		}
	}
	return out
}

// customFiles lists the archives of a customer's index in bundle order.
func customFiles(ix *repo.CustomIndex) []FileRef {
	var out []FileRef
	for _, f := range ix.Fixes {
		out = append(out, FileRef{repo.CustomDir + "/" + ix.Customer + "/" + f.File, f.Size, f.SHA256})
	}
	return out
}

// FileRef is a file a verified index or repomd.xml names: its name
// relative to the channel's folder ("FILE", "repodata/FILE",
// "custom/CUSTOMER/FILE"), size and sha256.
type FileRef struct {
	Name   string
	Size   int64
	SHA256 string
}

// isKeyEntry returns the plain name of a keys/NAME entry.
func isKeyEntry(name string) (string, bool) {
	dir, base := path.Split(name)
	return base, dir == "keys/" && repo.IsPlainFileName(base)
}

// tarHeader is the deterministic header of one entry.
func tarHeader(name string, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644,
		ModTime: mtime.UTC().Truncate(time.Second), Format: tar.FormatPAX}
}

// countingReader counts what the tar reader consumed, to find where the
// end-of-archive marker must be, and checks the padding after each
// entry's data: tar skips those bytes unread, so anything but zeros there
// would travel unchecked.
type countingReader struct {
	r       io.Reader
	n       int64
	padFrom int64 // the padding [padFrom, padTo) must be zeros
	padTo   int64
	padErr  error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	start := c.n
	c.n += int64(n)
	if c.padErr == nil && start < c.padTo && c.n > c.padFrom {
		for i := max(c.padFrom, start); i < min(c.padTo, c.n); i++ {
			if p[i-start] != 0 {
				c.padErr = fmt.Errorf("data in the padding after an entry (byte %d): tar skips it unread, so it is refused rather than left unchecked; export the bundle again", i)
				break
			}
		}
	}
	return n, err
}

// entryDone notes the end of an entry's data: the padding up to the next
// 512-byte block follows.
func (c *countingReader) entryDone() int64 {
	c.padFrom, c.padTo = c.n, (c.n+511)&^511
	return c.n
}

func marshalHeader(h *Header) ([]byte, error) {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
