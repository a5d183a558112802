package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// Download fetches rel into dest, which ends up holding exactly size bytes
// with the given sha256, or is left absent. A partial dest.part from an
// earlier attempt is resumed with a Range request. Nothing beyond size is
// ever read, and the file is renamed into place only after it verified.
func (f *Fetcher) Download(ctx context.Context, rel, dest string, size int64, sum string, progress io.Writer) error {
	if ok, err := fileMatches(dest, size, sum); err != nil || ok {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	part := dest + ".part"
	if f.base.Scheme == "file" {
		src, err := openRegular(filepath.FromSlash(f.base.Path + rel))
		if err != nil {
			return err
		}
		defer src.Close()
		if fi, err := src.Stat(); err == nil && fi.Size() != size {
			return sizeMismatch(rel, fi.Size(), size)
		}
		if _, err := atomicfile.WriteFrom(part, io.LimitReader(src, size+1), 0o644); err != nil {
			return err
		}
	} else {
		u := f.URL(rel)
		err := f.retry(ctx, func() error { return f.fetchRange(ctx, u, part, size, progress) })
		if err != nil {
			return err
		}
	}
	if fi, err := os.Stat(part); err == nil && fi.Size() != size {
		os.Remove(part)
		return sizeMismatch(rel, fi.Size(), size)
	}
	ok, err := fileMatches(part, size, sum)
	if err != nil {
		return err
	}
	if !ok {
		os.Remove(part)
		return &TrustError{What: rel, Err: fmt.Errorf("%w: size or sha256 differs from the signed index", ErrMismatch),
			Hint: "the download was damaged or the repository was tampered with; it was discarded, try again"}
	}
	if err := os.Rename(part, dest); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(dest))
}

// sizeMismatch is the refusal of a file the server serves with another
// size than the signed index declares: retrying cannot help, and the
// partial file is of no use.
func sizeMismatch(what string, served, signed int64) error {
	err := fmt.Errorf("%w: size differs: the repository serves %d bytes, fewer than the %d bytes the signed index declares", ErrMismatch, served, signed)
	if served > signed {
		err = fmt.Errorf("%w: size differs: the repository serves %d bytes, more than the %d bytes the signed index declares", ErrTooLarge, served, signed)
	}
	return &TrustError{What: what, Err: err,
		Hint: "the repository serves another file than it signed (a mirror out of step, or a file replaced after \"hotfix repo build\"); " +
			"nothing was kept: ask the vendor to rebuild or resynchronise the repository"}
}

// RangeError is a server's answer to a resumed download that does not
// continue the partial file (a 416, or a 206 of another range). The
// partial file was dropped, so the next attempt starts from the start.
type RangeError struct {
	URL    string
	Asked  int64  // the first byte requested
	Status int    // the HTTP status
	Range  string // the Content-Range answered, if any
}

func (e *RangeError) Error() string {
	got := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if e.Range != "" {
		got += " with Content-Range " + strconv.Quote(e.Range)
	}
	return fmt.Sprintf("GET %s: asked to resume at byte %d, the server answered %s; the partial download was dropped and the next attempt starts over",
		e.URL, e.Asked, got)
}

// fetchRange appends to part from where it ends.
func (f *Fetcher) fetchRange(ctx context.Context, u, part string, size int64, progress io.Writer) error {
	have := int64(0)
	if fi, err := os.Stat(part); err == nil {
		have = fi.Size()
	}
	if have > size {
		os.Remove(part)
		have = 0
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w%s", u, causeOr(ctx, err), timeoutHint(ctx, err))
	}
	defer resp.Body.Close()
	flags, err := rangeAnswer(u, resp, have, size)
	if err != nil {
		os.Remove(part)
		return err
	}
	if flags&os.O_TRUNC != 0 {
		have = 0
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	var body io.Reader = f.watchRate(ctx, cancel, f.countingBody(resp.Body))
	if progress != nil {
		body = io.TeeReader(body, progress)
	}
	// Read one byte more than the rest of the file to notice a server
	// that sends more than the signed index declares.
	n, err := io.Copy(out, io.LimitReader(body, size-have+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, causeOr(ctx, err))
	}
	if have+n > size {
		out.Close()
		os.Remove(part)
		return &TrustError{What: u, Err: fmt.Errorf("%w: server sent more than the %d bytes the index declares", ErrTooLarge, size)}
	}
	if have+n < size {
		// A chunked body that ended cleanly is the whole file: the server
		// holds a shorter one. A body delimited by the connection's close
		// cannot tell a cut from an end; the resume will.
		if len(resp.TransferEncoding) > 0 {
			out.Close()
			os.Remove(part)
			return sizeMismatch(u, have+n, size)
		}
		return fmt.Errorf("GET %s: connection ended after %d of %d bytes", u, have+n, size)
	}
	return out.Sync()
}

// rangeAnswer checks the status and size of a download's response against
// what was asked (bytes from have on) and what the signed index declares,
// and says how to open the partial file. On an error the partial file is
// stale and must be dropped.
func rangeAnswer(u string, resp *http.Response, have, size int64) (int, error) {
	if err := servedAsIs(u, resp); err != nil {
		return 0, err
	}
	cr := resp.Header.Get("Content-Range")
	switch resp.StatusCode {
	case http.StatusOK:
		if resp.ContentLength >= 0 && resp.ContentLength != size {
			return 0, sizeMismatch(u, resp.ContentLength, size)
		}
		return os.O_WRONLY | os.O_CREATE | os.O_TRUNC, nil
	case http.StatusPartialContent:
		first, total, ok := parseContentRange(cr)
		if ok && total >= 0 && total != size {
			return 0, sizeMismatch(u, total, size)
		}
		if !ok || first != have {
			return 0, &RangeError{URL: u, Asked: have, Status: resp.StatusCode, Range: cr}
		}
		return os.O_WRONLY | os.O_CREATE | os.O_APPEND, nil
	case http.StatusRequestedRangeNotSatisfiable:
		// "bytes */TOTAL" names the size the server has.
		if _, total, ok := parseContentRange(cr); ok && total >= 0 && total != size {
			return 0, sizeMismatch(u, total, size)
		}
		return 0, &RangeError{URL: u, Asked: have, Status: resp.StatusCode, Range: cr}
	}
	return 0, &HTTPError{URL: u, Status: resp.StatusCode}
}

// parseContentRange reads "bytes FIRST-LAST/TOTAL" or "bytes */TOTAL";
// first is -1 for "*" and total -1 for an unknown "*" total.
func parseContentRange(s string) (first, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		n, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		total = n
	}
	if span == "*" {
		return -1, total, true
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, false
	}
	return first, total, true
}

// fileMatches reports whether path exists with the given size and sha256.
func fileMatches(path string, size int64, sum string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil || fi.Size() != size {
		return false, err
	}
	got, _, err := repo.HashFile(path)
	if err != nil {
		return false, err
	}
	return got == sum, nil
}
