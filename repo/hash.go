package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// HashFile returns the hex sha256 and the size of a file: the one digest
// that archives, indexes and installed-file records use. It reads a file
// rather than bytes because every caller (packing, verifying a
// repository, checking installed files) holds a path and the files may
// be large.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// CheckFile compares a file's size and sha256 with what an index says.
func CheckFile(path string, size int64, sum string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("listed in the index but unreadable: %w", err)
	}
	if info.Size() != size {
		return fmt.Errorf("size %d, the index says %d", info.Size(), size)
	}
	got, _, err := HashFile(path)
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("sha256 %s, the index says %s", got, sum)
	}
	return nil
}
