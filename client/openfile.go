package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// errNotRegular marks a path that names a FIFO, a device, a socket or a
// directory where a regular file is wanted.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading only if it is a regular file. The
// open does not block and the check is on the opened file: opening a FIFO
// for reading otherwise waits for a writer, inside a system call that
// SIGTERM does not interrupt, and a stat before the open could be raced.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := regularFile(path, fi); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// regularFile refuses a file that is not regular, naming what it is.
func regularFile(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s is %s, %w: name the file itself", path, fileKind(fi.Mode()), errNotRegular)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	}
	return "of type " + m.Type().String()
}
