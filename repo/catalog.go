package repo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
)

// catalogName is the generator's private record of what it has already
// hashed in a channel, so a rebuild does not read unchanged archives
// again. It is a dot-file: never served, never published.
const catalogName = ".catalog.json"

// catalogEntry is what the generator knows about one archive file.
type catalogEntry struct {
	Size     int64   `json:"size"`
	MTimeNS  int64   `json:"mtime_ns"`
	SHA256   string  `json:"sha256"`
	Product  string  `json:"product"`
	Version  Version `json:"version"`
	Summary  string  `json:"summary"`
	Desc     string  `json:"description,omitempty"`
	Bugs     []Bug   `json:"bugs"`
	Verified bool    `json:"verified"` // payload checked entry by entry (repo add)

	File     string        `json:"-"` // file name in the channel, set by scanChannel
	RPMEntry *catalogEntry `json:"-"` // the RPM accompanying a .fix (see pairRPMs)
}

type catalog struct {
	Archives map[string]*catalogEntry `json:"archives"`
}

func loadCatalog(dir string) *catalog {
	c := &catalog{Archives: map[string]*catalogEntry{}}
	data, err := os.ReadFile(filepath.Join(dir, catalogName))
	if err != nil {
		return c
	}
	// A damaged catalog only costs a rehash: ignore it rather than fail.
	if json.Unmarshal(data, c) != nil || c.Archives == nil {
		c.Archives = map[string]*catalogEntry{}
	}
	return c
}

func (c *catalog) save(dir string) error {
	data, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, catalogName), data, 0o644)
}

// fresh reports whether the entry still describes the file.
func (e *catalogEntry) fresh(info fs.FileInfo) bool {
	return e != nil && e.Size == info.Size() && e.MTimeNS == info.ModTime().UnixNano()
}

// describeArchive hashes an archive file and reads its manifest in one
// pass over the bytes. With deep set it also verifies every entry.
func describeArchive(ctx context.Context, path string, deep bool) (*catalogEntry, *Manifest, error) {
	if isRPMName(path) {
		return describeRPM(ctx, path, deep)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	tee := io.TeeReader(f, h)
	var m *Manifest
	if deep {
		m, err = VerifyArchive(ctx, tee)
	} else {
		var a *ArchiveReader
		a, err = NewArchiveReader(bufio.NewReader(tee))
		if a != nil {
			m = a.Manifest
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	// Hash whatever the readers did not need.
	if _, err := io.Copy(h, f); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	e := &catalogEntry{
		Size:     info.Size(),
		MTimeNS:  info.ModTime().UnixNano(),
		SHA256:   hex.EncodeToString(h.Sum(nil)),
		Product:  m.Product,
		Version:  m.Version,
		Summary:  m.Summary,
		Desc:     m.Description,
		Bugs:     m.Bugs,
		Verified: deep,
	}
	return e, m, nil
}

// parallel runs fn(i) for i in [0,n) on every core and returns the first
// error in index order.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	workers := min(runtime.GOMAXPROCS(0), n)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					continue
				}
				errs[i] = fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// channel is one PRODUCT/BASE directory of a repository.
type channel struct {
	Product string
	Base    Version
	Dir     string
}

// listChannels finds every PRODUCT/BASE directory, sorted.
func listChannels(root string) ([]channel, error) {
	products, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read repository %s: %w", root, err)
	}
	var out []channel
	for _, p := range products {
		if !p.IsDir() || ValidProductName(p.Name()) != nil || p.Name() == "keys" || strings.HasPrefix(p.Name(), ".") {
			continue
		}
		bases, err := os.ReadDir(filepath.Join(root, p.Name()))
		if err != nil {
			return nil, err
		}
		for _, b := range bases {
			v, err := ParseVersion(b.Name())
			if !b.IsDir() || err != nil {
				continue
			}
			out = append(out, channel{Product: p.Name(), Base: v, Dir: filepath.Join(root, p.Name(), b.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Product != out[j].Product {
			return out[i].Product < out[j].Product
		}
		return out[i].Base.Compare(out[j].Base) < 0
	})
	return out, nil
}

// missingVersions lists the fixes of base that are absent below the
// highest present one.
func missingVersions(base Version, present map[string]bool, highest int) []string {
	var gaps []string
	for n := 1; n <= highest; n++ {
		v := base.Fix(n).String()
		if !present[v] {
			gaps = append(gaps, v)
		}
	}
	return gaps
}
