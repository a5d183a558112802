package publish

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// stagedCopy is an archive's copy in Add's stage (stage nil: not copied,
// see lazyCopy).
type stagedCopy struct {
	stage *atomicfile.Stage
	name  string
}

// stageArchive describes and verifies archive number i and copies it into
// the stage in the same read of its bytes, straight to the disk (see
// atomicfile.StagedFile): the disk writes while the other archives are
// verified, one Stage.Sync makes all copies durable, and placing them is
// renames. An archive of a version its channel lists already is not
// copied unless copyKnown (see lazyCopy). Copies of archives that are
// refused or already present go away with the stage.
func stageArchive(ctx context.Context, stage *atomicfile.Stage, known *knownArchives, i int, path string, copyKnown bool) (incoming, error) {
	name := strconv.Itoa(i)
	lc := &lazyCopy{
		create: func() (*atomicfile.StagedFile, error) { return stage.Create(name, 0o644) },
		skip:   func(m *repo.Manifest) bool { return !copyKnown && known.lists(m, path) },
	}
	e, m, err := describeArchive(ctx, path, lc)
	copied, cerr := lc.close()
	if err == nil && cerr != nil {
		err = fmt.Errorf("add %s: %w", path, cerr)
	}
	a := incoming{path: path, entry: e, m: m}
	if copied {
		a.staged = stagedCopy{stage, name}
	}
	return a, err
}

// restage copies, in a second read, the archives a plan places whose copy
// was skipped: their channel's catalog listed them, but the channel no
// longer holds them (removed by hand). An archive that changed between
// the two reads is refused.
func restage(ctx context.Context, stage *atomicfile.Stage, plans []*addPlan, first int) error {
	n := first
	for _, p := range plans {
		for k, a := range p.todo {
			if a.staged.stage != nil {
				continue
			}
			again, err := stageArchive(ctx, stage, nil, n, a.path, true)
			n++
			if err != nil {
				return err
			}
			if again.entry.SHA256 != a.entry.SHA256 {
				return fmt.Errorf("%s changed while it was added (sha256 %s, then %s): add it again once nothing writes to it", a.path, a.entry.SHA256, again.entry.SHA256)
			}
			p.todo[k].staged = again.staged
		}
	}
	return nil
}

// knownArchives tells Add's workers whether a channel's catalog lists an
// archive already; each channel's catalog is loaded once.
type knownArchives struct {
	root string
	mu   sync.Mutex
	cats map[string]*catalog
}

// lists reports whether the catalog of m's channel lists the archive at
// path (by the name it would get there). A customer fix is never taken
// as listed: its channel is laid out differently.
func (k *knownArchives) lists(m *repo.Manifest, path string) bool {
	if k == nil || m.IsCustom() {
		return false
	}
	dir := filepath.Join(k.root, m.Product, m.Base.String())
	k.mu.Lock()
	cat, ok := k.cats[dir]
	if !ok {
		cat = loadCatalog(dir)
		k.cats[dir] = cat
	}
	k.mu.Unlock()
	e := &catalogEntry{}
	e.Product, e.Version = m.Product, m.Version
	_, ok = cat.Archives[fixFileName(path, e)]
	return ok
}

// lazyCopy is what stageArchive tees an archive into. It keeps the bytes
// read before the manifest is known, then creates the staged copy and
// writes on, or drops them for an archive whose channel lists its version
// already: such an archive is either unchanged or refused as changed, and
// neither needs a copy, so adding a thousand known archives again writes
// nothing.
type lazyCopy struct {
	create  func() (*atomicfile.StagedFile, error)
	skip    func(*repo.Manifest) bool
	pending *[]byte // from pendingBuffers, until the manifest is read
	decided bool
	f       *atomicfile.StagedFile
}

// pendingBuffers keeps lazyCopy's buffers: a fresh one grown for each of
// a thousand archives cost more in page faults than the copy itself.
var pendingBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<20); return &b }}

// maxPending bounds what lazyCopy holds before the manifest is read: an
// archive whose manifest comes later than that (a hostile one: hotfix
// packs it first, in a few KiB) is copied without waiting for it.
const maxPending = 16 << 20

func (l *lazyCopy) Write(p []byte) (int, error) {
	if !l.decided && l.pending != nil && len(*l.pending)+len(p) > maxPending {
		if err := l.copyNow(); err != nil {
			return 0, err
		}
	}
	switch {
	case !l.decided:
		if l.pending == nil {
			l.pending = pendingBuffers.Get().(*[]byte)
		}
		*l.pending = append(*l.pending, p...)
	case l.f != nil:
		return l.f.Write(p)
	}
	return len(p), nil
}

// manifestRead decides (see manifestGate in describe.go), unless the copy
// has begun already.
func (l *lazyCopy) manifestRead(m *repo.Manifest) error {
	if l.decided {
		return nil
	}
	if l.skip(m) {
		l.decided = true
		l.release()
		return nil
	}
	return l.copyNow()
}

// copyNow creates the copy and writes what is pending into it.
func (l *lazyCopy) copyNow() error {
	l.decided = true
	defer l.release()
	f, err := l.create()
	if err != nil {
		return err
	}
	l.f = f
	if l.pending != nil {
		_, err = f.Write(*l.pending)
	}
	return err
}

// release gives the pending buffer back to the pool.
func (l *lazyCopy) release() {
	if l.pending != nil {
		*l.pending = (*l.pending)[:0]
		pendingBuffers.Put(l.pending)
		l.pending = nil
	}
}

// close closes the copy, if one was made, and says whether it was.
func (l *lazyCopy) close() (bool, error) {
	l.release() // an archive refused before its manifest was read
	if l.f == nil {
		return false, nil
	}
	return true, l.f.Close()
}
