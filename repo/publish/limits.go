package publish

import (
	"errors"
	"fmt"
	"time"

	"github.com/hotfix-project/hotfix/repo"
)

// What a build may publish so that clients accept it: indexes no larger
// than a client reads by default, and expiries long enough to reach them.

// MinExpires is the shortest validity Build gives indexes: an index that
// expires within the hour is stale on every client that checks once a day,
// and one of seconds is born expired on the way to them.
const MinExpires = time.Hour

// ErrExpiresTooShort is Build's refusal of an expiry under MinExpires;
// the command line names its flag.
var ErrExpiresTooShort = errors.New("index expiry too short")

// ErrIndexTooLarge is the refusal of a channel index larger than the
// clients read (Build's error, VerifyRepo's problem); the command line
// names the flag that raises the bound for vendors whose clients all
// raised theirs.
var ErrIndexTooLarge = errors.New("index larger than clients accept")

// IndexSizeError is an index over the bound, with what was measured.
type IndexSizeError struct {
	Product string
	Base    repo.Version
	Size    int64
	Limit   int64
}

func (e *IndexSizeError) Error() string {
	bound := fmt.Sprintf("the bound of %s set for the clients' max_index_size", sizeName(e.Limit))
	if e.Limit == repo.MaxIndexSize {
		bound = fmt.Sprintf("the %s every client reads by default ([network] max_index_size)", sizeName(e.Limit))
	}
	return fmt.Sprintf("index.json of %s %s is %s, more than %s: clients would refuse it; "+
		"shorten the fixes' descriptions, or raise [network] max_index_size on every client first",
		e.Product, e.Base, sizeName(e.Size), bound)
}

func (e *IndexSizeError) Unwrap() error { return ErrIndexTooLarge }

// checkIndexSize refuses an index of size bytes over limit (0: the
// clients' default).
func checkIndexSize(product string, base repo.Version, size, limit int64) error {
	if limit <= 0 {
		limit = repo.MaxIndexSize
	}
	if size > limit {
		return &IndexSizeError{Product: product, Base: base, Size: size, Limit: limit}
	}
	return nil
}

// checkExpires refuses a validity no client could use.
func checkExpires(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("build: negative expiry %s", d)
	case d < MinExpires:
		return fmt.Errorf("build: %w: indexes valid for %s would be expired, or nearly, before clients fetch them; the shortest is %s", ErrExpiresTooShort, d, MinExpires)
	}
	return nil
}

// sizeName is a byte count for people: exact, and in MiB when large.
func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d bytes (%d MiB)", n, n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
