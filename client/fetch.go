package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hotfix-project/hotfix/internal/atomicfile"
	"github.com/hotfix-project/hotfix/repo"
)

// ErrStalled means a transfer fell below the configured minimum rate.
var ErrStalled = errors.New("transfer too slow")

// HTTPError is a non-success HTTP answer.
type HTTPError struct {
	URL    string
	Status int
}

func (e *HTTPError) Error() string {
	hint := ""
	switch {
	case e.Status == http.StatusNotFound:
		hint = ": check repo and product in the configuration, and that the vendor published this version"
	case e.Status >= 500:
		hint = ": the repository server failed; try again later"
	}
	return fmt.Sprintf("GET %s: %d %s%s", e.URL, e.Status, http.StatusText(e.Status), hint)
}

// retryable reports whether trying again may help.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500 || he.Status == http.StatusTooManyRequests || he.Status == http.StatusRequestTimeout
	}
	var te *TrustError
	return !errors.As(err, &te) && !errors.Is(err, context.Canceled)
}

// Fetcher reads repository files over http(s) or from file:// URLs.
type Fetcher struct {
	base        *url.URL
	client      *http.Client
	minRate     int64
	stallWindow time.Duration
	retries     int
	backoff     time.Duration
	log         *slog.Logger
	// Transferred counts body bytes received, for tests and benchmarks.
	Transferred atomic.Int64
}

// NewFetcher makes a fetcher for the configured repository.
func NewFetcher(cfg *Config, log *slog.Logger) (*Fetcher, error) {
	u, err := url.Parse(cfg.Repo + "/")
	if err != nil {
		return nil, fmt.Errorf("repo %q: %w", cfg.Repo, err)
	}
	connect := cfg.Network.ConnectTimeout.Duration
	if connect <= 0 {
		connect = 15 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = connect
	tr.ResponseHeaderTimeout = 2 * connect
	tr.DisableCompression = true // sizes and ranges must be of the real bytes
	return &Fetcher{
		base:        u,
		client:      &http.Client{Transport: tr},
		minRate:     cfg.Network.MinRate,
		stallWindow: 30 * time.Second,
		retries:     cfg.Network.Retries,
		backoff:     time.Second,
		log:         logOrDiscard(log),
	}, nil
}

func logOrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// URL resolves a repository-relative path.
func (f *Fetcher) URL(rel string) string {
	return f.base.ResolveReference(&url.URL{Path: rel}).String()
}

// retry runs op up to 1+retries times with jittered exponential backoff,
// giving up at once when ctx ends or the error is not worth retrying.
func (f *Fetcher) retry(ctx context.Context, what string, op func() error) error {
	delay := f.backoff
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || attempt >= f.retries || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait := delay + time.Duration(rand.Int64N(int64(delay)/2+1))
		f.log.Warn("retrying", "what", what, "attempt", attempt+1, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay *= 2
	}
}

// Small fetches a small file (an index or a signature) into memory,
// refusing more than limit bytes. With etag set it makes a conditional
// request; notModified then means the caller's copy is current and no
// body was transferred.
func (f *Fetcher) Small(ctx context.Context, rel string, limit int64, etag string) (body []byte, newETag string, notModified bool, err error) {
	if f.base.Scheme == "file" {
		body, err = readLimited(filepath.FromSlash(f.base.Path+rel), limit)
		return body, "", false, err
	}
	u := f.URL(rel)
	err = f.retry(ctx, u, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := f.client.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotModified && etag != "":
			notModified, newETag = true, etag
			return nil
		case resp.StatusCode != http.StatusOK:
			return &HTTPError{URL: u, Status: resp.StatusCode}
		case resp.ContentLength > limit:
			return &TrustError{What: u, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, resp.ContentLength, limit)}
		}
		b, err := io.ReadAll(io.LimitReader(f.countingBody(resp.Body), limit+1))
		if err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		if int64(len(b)) > limit {
			return &TrustError{What: u, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
		}
		body, newETag = b, resp.Header.Get("ETag")
		return nil
	})
	return body, newETag, notModified, err
}

func readLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TrustError{What: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	return b, nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (f *Fetcher) countingBody(r io.Reader) io.Reader { return countingReader{r, &f.Transferred} }

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
		src, err := os.Open(filepath.FromSlash(f.base.Path + rel))
		if err != nil {
			return err
		}
		defer src.Close()
		if _, err := atomicfile.WriteFrom(part, io.LimitReader(src, size+1), 0o644); err != nil {
			return err
		}
	} else {
		u := f.URL(rel)
		err := f.retry(ctx, u, func() error { return f.fetchRange(ctx, u, part, size, progress) })
		if err != nil {
			return err
		}
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
		return fmt.Errorf("GET %s: %w", u, causeOr(ctx, err))
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0 && strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)):
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return &HTTPError{URL: u, Status: resp.StatusCode}
	default:
		return &HTTPError{URL: u, Status: resp.StatusCode}
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	var body io.Reader = f.countingBody(resp.Body)
	if f.minRate > 0 {
		body = f.watchRate(ctx, cancel, body)
	}
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
		return fmt.Errorf("GET %s: connection ended after %d of %d bytes", u, have+n, size)
	}
	return out.Sync()
}

// watchRate cancels the transfer when fewer than minRate bytes per second
// arrive over a whole stall window.
func (f *Fetcher) watchRate(ctx context.Context, cancel context.CancelCauseFunc, r io.Reader) io.Reader {
	var got atomic.Int64
	go func() {
		t := time.NewTicker(f.stallWindow)
		defer t.Stop()
		last := int64(0)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				now := got.Load()
				if float64(now-last) < float64(f.minRate)*f.stallWindow.Seconds() {
					cancel(fmt.Errorf("%w: %d bytes in %s, minimum %d bytes/s ([network] min_rate)", ErrStalled, now-last, f.stallWindow, f.minRate))
					return
				}
				last = now
			}
		}
	}()
	return countingReader{r, &got}
}

func causeOr(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
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
