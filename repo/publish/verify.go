package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotfix-project/hotfix/repo"
	"github.com/hotfix-project/hotfix/repo/fixarchive"
	"github.com/hotfix-project/hotfix/repo/rpm"
	"github.com/hotfix-project/hotfix/repo/yum"
)

// VerifyOptions tune VerifyRepo.
type VerifyOptions struct {
	Check repo.CheckSignature
	Now   time.Time // zero means time.Now()
	// MaxIndexSize bounds each channel's index.json as Build does; 0
	// means repo.MaxIndexSize, what clients read by default.
	MaxIndexSize int64
	// TrustedKeys are the fingerprints of the root keys clients hold: the
	// key lists must be anchored in them. None checks the chain from
	// version 1 by itself.
	TrustedKeys []string
	Logger      *slog.Logger // warnings (a key list about to expire)
}

// Problem is one thing wrong with a repository.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) String() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// VerifyRepo checks a published repository as a client would: the
// signatures of repo.json and every index, expiry, the chain, every
// archive's size and sha256, and every archive's content read to its end
// (container, entries, manifest, an RPM's header signature when it has
// one), as install would read it. It returns every problem found, not
// just the first.
func VerifyRepo(ctx context.Context, root string, opts VerifyOptions) ([]Problem, error) {
	if opts.Check == nil {
		return nil, errors.New("verify: a keyring is required")
	}
	v := &verifier{root: root, check: opts.Check, now: opts.Now, maxIndex: opts.MaxIndexSize}
	if v.now.IsZero() {
		v.now = time.Now()
	}
	v.keyChain(opts)
	if data, ok := v.readSigned(filepath.Join(root, repo.RootIndexName)); ok {
		if ri, err := repo.ParseRootIndex(data); err != nil {
			v.add(filepath.Join(root, repo.RootIndexName), err)
		} else if v.now.After(ri.Expires) {
			v.add(filepath.Join(root, repo.RootIndexName), fmt.Errorf("expired on %s: run \"hotfix repo build\"", ri.Expires.Format(time.RFC3339)))
		}
	}
	channels, err := listChannels(root)
	if err != nil {
		return nil, err
	}
	for _, ch := range channels {
		v.channel(ch)
	}
	customs, err := listCustomChannels(root)
	if err != nil {
		return nil, err
	}
	for _, cc := range customs {
		v.verifyCustom(cc)
	}
	errs, err := forEach(ctx, len(v.files), func(i int) error {
		f := v.files[i]
		if err := repo.CheckFile(f.path, f.size, f.sha256); err != nil {
			return err
		}
		return v.content(ctx, f.path)
	})
	if err != nil {
		return nil, err
	}
	for i, err := range errs {
		if err != nil {
			v.add(v.files[i].path, err)
		}
	}
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Path < v.problems[j].Path })
	return v.problems, nil
}

// verifier collects the problems of one VerifyRepo, and the files whose
// size and digest it checks at the end, all at once.
type verifier struct {
	root     string
	check    repo.CheckSignature
	now      time.Time
	maxIndex int64
	keyList  *repo.KeyList // the newest key list, when the repository has a good one
	problems []Problem
	files    []listedFile
}

// listedFile is a file an index lists, with what the index says of it.
type listedFile struct {
	path   string
	size   int64
	sha256 string
}

func (v *verifier) add(path string, err error) {
	rel, rerr := filepath.Rel(v.root, path)
	if rerr != nil {
		rel = path
	}
	v.problems = append(v.problems, Problem{Path: rel, Err: err})
}

// readSigned reads a signed file and checks its detached signature.
func (v *verifier) readSigned(path string) ([]byte, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		v.add(path, fmt.Errorf("missing: run \"hotfix repo build\""))
		return nil, false
	}
	sig, err := os.ReadFile(path + repo.SigSuffix)
	if err != nil {
		v.add(path+repo.SigSuffix, fmt.Errorf("missing signature: run \"hotfix repo build\""))
		return nil, false
	}
	if err := v.check(data, sig); err != nil {
		v.add(path+repo.SigSuffix, err)
		return nil, false
	}
	return data, true
}

// channel checks a channel's index and repodata, and lists the files the
// index names for checking.
func (v *verifier) channel(ch channel) {
	indexPath := filepath.Join(ch.Dir, repo.IndexName)
	data, ok := v.readSigned(indexPath)
	if !ok {
		return
	}
	ix, err := repo.ParseIndex(data)
	if err != nil {
		v.add(indexPath, err)
		return
	}
	if ix.Product != ch.Product || !ix.Base.Equal(ch.Base) {
		v.add(indexPath, fmt.Errorf("describes %s %s but lies in %s/%s", ix.Product, ix.Base, ch.Product, ch.Base))
	}
	v.indexHeader(indexPath, len(data), ix.KeyList, ix.Product, ix.Base, ix.Expires)
	indexed := map[string]bool{}
	rpms := map[string]string{}
	for _, f := range ix.Fixes {
		if isRPMName(f.File) {
			rpms[f.File] = f.SHA256
		} else if f.RPM != nil {
			rpms[f.RPM.File] = f.RPM.SHA256
		}
	}
	for _, err := range yum.Check(ch.Dir, v.check, rpms) {
		v.add(filepath.Join(ch.Dir, yum.Dir), err)
	}
	for _, f := range ix.Fixes {
		indexed[f.File] = true
		v.files = append(v.files, listedFile{filepath.Join(ch.Dir, f.File), f.Size, f.SHA256})
		if f.RPM != nil {
			indexed[f.RPM.File] = true
			v.files = append(v.files, listedFile{filepath.Join(ch.Dir, f.RPM.File), f.RPM.Size, f.RPM.SHA256})
		}
	}
	v.strays(ch.Dir, indexed, nil)
}

// indexHeader checks what a channel's and a customer's index both say of
// themselves, so that the two checks cannot drift apart: the key list
// they were signed under, their size and their expiry. Where the index
// lies is the caller's check (a customer index names its customer too).
func (v *verifier) indexHeader(indexPath string, size int, keyList int64, product string, base repo.Version, expires time.Time) {
	v.indexKeyList(indexPath, keyList)
	if err := checkIndexSize(product, base, int64(size), v.maxIndex); err != nil {
		v.add(indexPath, err)
	}
	if v.now.After(expires) {
		v.add(indexPath, fmt.Errorf("expired on %s: run \"hotfix repo build\"", expires.Format(time.RFC3339)))
	}
}

// strays reports the archives (.fix, .rpm; dot files are work in
// progress) in dir that the index does not list, except those keep
// accepts (a customer channel keeps older versions of a listed id).
func (v *verifier) strays(dir string, indexed map[string]bool, keep func(name string) bool) {
	dirents, _ := os.ReadDir(dir) // the index beside them was just read: a failure here is a race the next verify sees
	for _, d := range dirents {
		n := d.Name()
		if strings.HasPrefix(n, ".") || indexed[n] || !(strings.HasSuffix(n, ".fix") || isRPMName(n)) {
			continue
		}
		if keep != nil && keep(n) {
			continue
		}
		v.add(filepath.Join(dir, n), fmt.Errorf("not in the index: run \"hotfix repo build\""))
	}
}

// content reads an archive the index lists as a client's install would:
// a .fix decompressed to the end of its container and every entry checked
// against its manifest, an RPM's payload likewise (and its header
// signature, when it carries one, against the keyring). The signed
// sha256 only says the file is the one the vendor published; this says a
// client will accept it.
func (v *verifier) content(ctx context.Context, path string) error {
	if isRPMName(path) {
		_, _, err := rpm.Verify(ctx, path, rpm.Trust{Check: v.check})
		if u := errors.Unwrap(err); u != nil {
			err = u // rpm.Verify names the path, which the problem names already
		}
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fixarchive.VerifyArchive(ctx, f)
	return err
}
