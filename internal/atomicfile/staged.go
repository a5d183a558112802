package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directAlign is the alignment O_DIRECT asks of buffers, offsets and
// lengths: a page covers every logical block size in use.
const directAlign = 4096

// directChunk is how much a StagedFile gathers before writing it to disk.
const directChunk = 1 << 20

// StagedFile is a new file written to disk around the page cache
// (O_DIRECT): the bytes go from the writer's buffer to the device, with
// no copy into the page cache, no dirty pages for the kernel to write
// back, and no cache filled with data nobody reads again. For repo add
// that halves the system time of copying archives into the repository.
// Writes are gathered into aligned chunks and each is written when full
// (the write waits for the device: callers run several at once); the
// unaligned tail goes through the page cache, and Stage.Sync flushes it
// with the inode. Where the file system refuses O_DIRECT, it writes
// through the page cache.
type StagedFile struct {
	// A descriptor, not an *os.File: os.File would register each of a
	// thousand files with the poller and switch its blocking mode, a
	// dozen system calls per archive that buy nothing for a disk file.
	fd     int
	name   string
	direct bool
	buf    *[]byte // directAlign-aligned and from directBuffers if pooled
	pooled bool
	off    int64 // file offset of (*buf)[0]
	err    error
}

// createStaged creates path, with O_DIRECT if direct and the file system
// takes it.
func createStaged(path string, perm os.FileMode, direct bool) (*StagedFile, error) {
	const flags = unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC
	if direct {
		fd, err := openNew(path, flags|unix.O_DIRECT, perm)
		if err == nil {
			return &StagedFile{fd: fd, name: path, direct: true, buf: directBuffers.Get().(*[]byte), pooled: true}, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return nil, err
		}
	}
	fd, err := openNew(path, flags, perm)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64<<10)
	return &StagedFile{fd: fd, name: path, buf: &b}, nil
}

// openNew creates path with flags and perm, whatever the umask (the
// mode is part of what Stage.Sync makes durable).
func openNew(path string, flags int, perm os.FileMode) (int, error) {
	for {
		fd, err := unix.Open(path, flags, uint32(perm.Perm()))
		if err == unix.EINTR {
			continue
		}
		if err == nil {
			if err = unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
				unix.Close(fd)
				unix.Unlink(path)
			}
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// directBuffers keeps the chunk buffers of closed StagedFiles: a
// thousand archives added need as many buffers as run at once, not a
// thousand megabytes zeroed and collected.
var directBuffers = sync.Pool{New: func() any {
	b := alignedBuffer(directChunk)
	return &b
}}

// alignedBuffer is an empty slice of capacity n starting on a
// directAlign boundary.
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)) % directAlign
	return b[skip : skip : skip+n]
}

// Name is the file's path.
func (s *StagedFile) Name() string { return s.name }

// Write gathers p, writing full chunks as they fill.
func (s *StagedFile) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	written := 0
	for len(p) > 0 {
		buf := *s.buf
		n := copy(buf[len(buf):cap(buf)], p)
		*s.buf = buf[:len(buf)+n]
		p, written = p[n:], written+n
		if len(*s.buf) == cap(*s.buf) {
			if s.err = s.flush(len(*s.buf)); s.err != nil {
				return written, s.err
			}
		}
	}
	return written, nil
}

// flush writes the first n bytes of the buffer (n aligned if direct) at
// their offset and keeps the rest at the buffer's start.
func (s *StagedFile) flush(n int) error {
	if n == 0 {
		return nil
	}
	buf := *s.buf
	err := s.pwrite(buf[:n])
	if err != nil && s.direct && errors.Is(err, unix.EINVAL) {
		// O_DIRECT opened but refused on write: through the page cache.
		if err = s.buffered(); err == nil {
			err = s.pwrite(buf[:n])
		}
	}
	if err != nil {
		return err
	}
	s.off += int64(n)
	*s.buf = buf[:copy(buf, buf[n:])]
	return nil
}

// pwrite writes p whole at s.off.
func (s *StagedFile) pwrite(p []byte) error {
	for off := s.off; len(p) > 0; {
		n, err := unix.Pwrite(s.fd, p, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return &os.PathError{Op: "write", Path: s.name, Err: err}
		case n == 0:
			return &os.PathError{Op: "write", Path: s.name, Err: io.ErrShortWrite}
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// buffered turns O_DIRECT off: what is written next goes through the
// page cache.
func (s *StagedFile) buffered() error {
	flags, err := unix.FcntlInt(uintptr(s.fd), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(uintptr(s.fd), unix.F_SETFL, flags&^unix.O_DIRECT)
	}
	if err != nil {
		return fmt.Errorf("turn O_DIRECT off: %w", err)
	}
	s.direct = false
	return nil
}

// Close writes what is gathered and closes the file. It does not sync
// it: a Stage's files are synced all at once by Stage.Sync. Close only
// starts writing back the partial last block, so the disk works on it
// meanwhile.
func (s *StagedFile) Close() error {
	if s.err == os.ErrClosed {
		return s.err
	}
	err := s.err
	if err == nil && s.direct {
		err = s.flush(len(*s.buf) &^ (directAlign - 1))
		if err == nil && len(*s.buf) > 0 {
			err = s.buffered()
		}
	}
	if err == nil {
		err = s.flush(len(*s.buf))
	}
	if s.pooled {
		*s.buf = (*s.buf)[:0]
		directBuffers.Put(s.buf)
	}
	s.buf = nil
	if err == nil {
		// A hint: Stage.Sync waits for it and reports its errors.
		_ = unix.SyncFileRange(s.fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
	if cerr := unix.Close(s.fd); err == nil && cerr != nil {
		err = &os.PathError{Op: "close", Path: s.name, Err: cerr}
	}
	s.err = os.ErrClosed
	return err
}
