package publish

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/yum"
	"golang.org/x/sync/errgroup"
)

// Phases of a publication, in the order they reach the destination. A
// client reading the destination at any moment sees indexes that name
// only archives already there, signed by keys whose list is already
// there: every phase only adds what the next one names.
const (
	phaseArchives = iota // .fix, .rpm and checksum-named repodata: immutable
	phaseKeys            // keys/: public keys and key lists, before the indexes they sign for
	phaseIndexes         // each index followed at once by its signature
	phasePages           // HTML pages and anything else, naming what is already there
	phaseRoot            // repo.json and its signature
	phaseTop             // the top index.html, naming repo.json's channels
)

// localObject is one file of the repository to publish.
type localObject struct {
	Key    string // slash-separated path relative to the repository
	Path   string
	Size   int64
	SHA256 string // hex
	MD5    string // hex, what S3 reports as the ETag of a single-part upload
	Phase  int
}

// Immutable reports whether the object may never change once published.
func (o *localObject) Immutable() bool { return o.Phase == phaseArchives }

// ContentType is what clients and CDNs are told the object is. Archives
// are octet streams: a .fix is zstd or xz, told by its magic bytes.
func (o *localObject) ContentType() string {
	switch path.Ext(o.Key) {
	case ".json":
		return "application/json"
	case ".asc":
		return "application/pgp-signature"
	case ".rpm":
		return "application/x-rpm"
	case ".xml":
		return "application/xml"
	case ".gz":
		return "application/gzip"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// CacheControl follows the publishing contract as hotfix serve does:
// archives never change, so caches keep them; everything else changes at
// the next build and must be revalidated (cheap with the ETag).
func (o *localObject) CacheControl() string {
	if o.Immutable() {
		return "public, max-age=31536000, immutable"
	}
	return "no-cache"
}

// phaseOf places a repository file (slash-separated, relative) in its
// phase.
func phaseOf(key string) int {
	base := path.Base(key)
	dir := path.Dir(key)
	switch {
	case key == repo.RootIndexName || key == repo.RootIndexName+repo.SigSuffix:
		return phaseRoot
	case key == "index.html":
		return phaseTop
	case strings.HasPrefix(key, "keys/"):
		return phaseKeys
	case strings.HasSuffix(base, ".fix") || isRPMName(base):
		return phaseArchives
	case path.Base(dir) == yum.Dir && base != yum.RepoMDName && base != yum.RepoMDName+".asc":
		// repodata data files are named by their checksum: a new build
		// writes new names, so they are immutable like archives.
		return phaseArchives
	case isIndexName(strings.TrimSuffix(base, ".asc")):
		return phaseIndexes
	}
	return phasePages
}

func isIndexName(base string) bool {
	return base == repo.IndexName || base == yum.RepoMDName
}

// planOrder sorts objects into publishing order: by phase, then within
// the indexes each one directly before its signature, and key lists by
// their version number (2 before 10).
func planOrder(objs []*localObject) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		if a.Phase == phaseKeys {
			na, nb := keyListNumber(a.Key), keyListNumber(b.Key)
			if na != nb {
				return na < nb
			}
		}
		ka, kb := strings.TrimSuffix(a.Key, ".asc"), strings.TrimSuffix(b.Key, ".asc")
		if ka != kb {
			return ka < kb
		}
		return len(a.Key) < len(b.Key) // the file before its .asc
	})
}

// keyListNumber is N of keys/N.root.json(.asc), or -1 for other keys
// (public keys go before any key list).
func keyListNumber(key string) int {
	num, _, ok := strings.Cut(path.Base(key), ".")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return n
}

// scanLocal lists every file of the repository to publish, hashed, in
// publishing order. Dot-files and dot-directories (the catalog, caches,
// temporaries) stay home, as hotfix serve never serves them; a symbolic
// link or any other non-regular file is refused, since what a link names
// is not part of the repository.
func scanLocal(ctx context.Context, root string) ([]*localObject, error) {
	var objs []*localObject
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file: a repository to publish holds only files and directories", p)
		}
		key := filepath.ToSlash(rel)
		objs = append(objs, &localObject{Key: key, Path: p, Phase: phaseOf(key)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read repository %s: %w", root, err)
	}
	if err := hashObjects(ctx, objs); err != nil {
		return nil, err
	}
	planOrder(objs)
	return objs, nil
}

// hashObjects reads every file once for both digests, on every core.
func hashObjects(ctx context.Context, objs []*localObject) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, o := range objs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return hashObject(o)
		})
	}
	return g.Wait()
}

func hashObject(o *localObject) error {
	f, err := os.Open(o.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	s, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(s, m), f)
	if err != nil {
		return fmt.Errorf("read %s: %w", o.Path, err)
	}
	o.Size = n
	o.SHA256 = hex.EncodeToString(s.Sum(nil))
	o.MD5 = hex.EncodeToString(m.Sum(nil))
	return nil
}
