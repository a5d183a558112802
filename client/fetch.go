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
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// ErrStalled means a transfer fell below the configured minimum rate or
// did not complete within its deadline.
var ErrStalled = errors.New("transfer too slow")

// Defaults of the [network] durations, for a Fetcher made from a Config
// that was not loaded from a file.
const (
	defaultStallTime    = 30 * time.Second
	defaultIndexTimeout = 2 * time.Minute
)

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
	return !errors.As(err, &te) && !errors.Is(err, context.Canceled) && !unreachable(err)
}

// unreachable reports whether err is a failure to reach the server at all
// (no such host, connection refused, no route, a connect timeout): a
// retry seconds later meets the same wall, and an administrator at a
// terminal would wait through every backoff for one message. The next
// scheduled run tries again; transfers that started are still retried.
func unreachable(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// Fetcher reads repository files over http(s) or from file:// URLs.
type Fetcher struct {
	base        *url.URL
	client      *http.Client
	minRate     int64
	stallWindow time.Duration // min_rate is measured over this window
	smallLimit  time.Duration // deadline of one whole small file
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
	stall, small := cfg.Network.StallTime.Duration, cfg.Network.IndexTimeout.Duration
	if stall <= 0 {
		stall = defaultStallTime
	}
	if small <= 0 {
		small = defaultIndexTimeout
	}
	return &Fetcher{
		base:        u,
		client:      &http.Client{Transport: tr},
		minRate:     cfg.Network.MinRate,
		stallWindow: stall,
		smallLimit:  small,
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
// giving up at once when ctx ends or the error is not worth retrying. The
// log line names no URL of its own: op's error names it.
func (f *Fetcher) retry(ctx context.Context, op func() error) error {
	delay := f.backoff
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || attempt >= f.retries || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait := delay + time.Duration(rand.Int64N(int64(delay)/2+1))
		f.log.Warn("retrying", "attempt", attempt+1, "in", wait, "err", err)
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
// body was transferred. Each attempt must end within index_timeout and
// keep up min_rate over every stall_time window: a server or proxy that
// sends the headers and then nothing must not hold a scheduled run (and
// its lock) forever.
func (f *Fetcher) Small(ctx context.Context, rel string, limit int64, etag string) (body []byte, newETag string, notModified bool, err error) {
	body, v, notModified, err := f.Conditional(ctx, rel, limit, Validators{ETag: etag})
	return body, v.ETag, notModified, err
}

// Validators are what a conditional request sends: the ETag of the
// caller's copy, or (when the server gave none) its Last-Modified.
type Validators struct {
	ETag         string
	LastModified string
}

// Conditional is Small with both validators: If-None-Match with
// v.ETag, else If-Modified-Since with v.LastModified (a server that
// sends ETags decides by them alone, and a second-granular date would
// miss a rebuild within the same second). It returns the validators of
// the body it got, or v itself when notModified.
func (f *Fetcher) Conditional(ctx context.Context, rel string, limit int64, v Validators) (body []byte, got Validators, notModified bool, err error) {
	if f.base.Scheme == "file" {
		body, err = readLimited(filepath.FromSlash(f.base.Path+rel), limit)
		return body, Validators{}, false, err
	}
	u := f.URL(rel)
	err = f.retry(ctx, func() error {
		var err error
		body, got, notModified, err = f.smallOnce(ctx, u, limit, v)
		return err
	})
	return body, got, notModified, err
}

// smallOnce is one attempt of Conditional.
func (f *Fetcher) smallOnce(ctx context.Context, u string, limit int64, v Validators) ([]byte, Validators, bool, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, stop := context.WithTimeoutCause(ctx, f.smallLimit,
		fmt.Errorf("%w: not complete after %s ([network] index_timeout)", ErrStalled, f.smallLimit))
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, Validators{}, false, err
	}
	switch {
	case v.ETag != "":
		req.Header.Set("If-None-Match", v.ETag)
	case v.LastModified != "":
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, Validators{}, false, fmt.Errorf("GET %s: %w%s", u, causeOr(ctx, err), timeoutHint(ctx, err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && (v.ETag != "" || v.LastModified != ""):
		return nil, v, true, nil
	case resp.StatusCode != http.StatusOK:
		return nil, Validators{}, false, &HTTPError{URL: u, Status: resp.StatusCode}
	case resp.ContentLength > limit:
		return nil, Validators{}, false, &TrustError{What: u, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, resp.ContentLength, limit)}
	}
	if err := servedAsIs(u, resp); err != nil {
		return nil, Validators{}, false, err
	}
	body := f.watchRate(ctx, cancel, f.countingBody(resp.Body))
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, Validators{}, false, fmt.Errorf("GET %s: %w", u, causeOr(ctx, err))
	}
	if int64(len(b)) > limit {
		return nil, Validators{}, false, &TrustError{What: u, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	got := Validators{ETag: resp.Header.Get("ETag")}
	if got.ETag == "" {
		got.LastModified = resp.Header.Get("Last-Modified")
	}
	return b, got, false, nil
}

// servedAsIs refuses a body the server encoded (gzip from a web server
// or proxy that compresses whatever it serves): sizes, ranges, hashes and
// signatures are of the files as published, and decoding them on the
// fly would hide a misconfiguration that breaks resumed downloads.
func servedAsIs(u string, resp *http.Response) error {
	ce := resp.Header.Get("Content-Encoding")
	if ce == "" || strings.EqualFold(ce, "identity") {
		return nil
	}
	return &TrustError{What: u, Err: fmt.Errorf("the server sent it compressed (Content-Encoding: %s)", ce),
		Hint: "repository files must be served as they are: turn off compression for the repository on the web server or proxy"}
}

func readLimited(path string, limit int64) ([]byte, error) {
	fh, err := openRegular(path)
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

// watchRate cancels the transfer when fewer than minRate bytes per second
// (and at least one byte) arrive over a whole stall window; it stops when
// ctx ends, which the caller's deferred cancel guarantees.
func (f *Fetcher) watchRate(ctx context.Context, cancel context.CancelCauseFunc, r io.Reader) io.Reader {
	var got atomic.Int64
	need := max(int64(float64(f.minRate)*f.stallWindow.Seconds()), 1)
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
				if now-last < need {
					cancel(fmt.Errorf("%w: %d bytes in %s, minimum %d bytes/s ([network] min_rate over stall_time)",
						ErrStalled, now-last, f.stallWindow, f.minRate))
					return
				}
				last = now
			}
		}
	}()
	return countingReader{r, &got}
}

// timeoutHint names the key behind a transport's own timeout (connecting,
// or waiting for the answer's headers), which otherwise reads as a bare
// "timeout"; the deadlines of ctx carry their own cause. (net/http's
// timeouts also match context.DeadlineExceeded, hence ctx.Err.)
func timeoutHint(ctx context.Context, err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		return " ([network] connect_timeout limits connecting, and twice it the wait for the answer's headers)"
	}
	return ""
}

// causeOr is the error to report for a failed request: the cause of a
// deadline of ctx, else err without net/http's *url.Error wrapper, whose
// text repeats the URL that the caller's "GET URL: " already names.
func causeOr(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
