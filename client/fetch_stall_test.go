package client

// Hostile-server tests of class 1 (issue 16): a repository or proxy that
// stalls at each point of each network read must end in a clear error
// within a bounded time, with the root untouched.

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Short limits, so that every stall ends in about a second.
const fastNetwork = `
[network]
connect_timeout = "300ms"
stall_time = "300ms"
min_rate = 1000
index_timeout = "1500ms"
retries = 0
`

// target says which repository file a misbehaving handler spoils.
type target string

const (
	targetIndex target = "index.json"
	targetSig   target = "index.json.asc"
	targetFix   target = ".fix"
)

func (tg target) matches(p string) bool {
	if tg == targetFix {
		return path.Ext(p) == ".fix"
	}
	return path.Base(p) == string(tg)
}

// misbehave wraps the repository: for the target file it takes the real
// answer and hands it to spoil, which sends what it likes; every other
// file is served as it is.
func misbehave(tg target, spoil func(w http.ResponseWriter, r *http.Request, body []byte)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !tg.matches(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			spoil(w, r, rec.Body.Bytes())
		})
	}
}

// hold keeps the connection open, sending nothing, until the client goes
// away (or a generous limit, so that a broken client cannot hang the test
// server's shutdown).
func hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(20 * time.Second):
	}
}

func headersThenNothing(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	hold(r)
}

func halfThenNothing(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body[:len(body)/2])
	w.(http.Flusher).Flush()
	hold(r)
}

// trickle sends one byte every interval: 20 bytes/s at 50 ms.
func trickle(interval time.Duration) func(w http.ResponseWriter, r *http.Request, body []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		for i := range body {
			if _, err := w.Write(body[i : i+1]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(interval):
			}
		}
	}
}

// noAnswer reads the request and never answers, not even headers.
func noAnswer(w http.ResponseWriter, r *http.Request, _ []byte) { hold(r) }

// TestEveryReadStallEnds: for index.json, its signature and the archive, a
// server that stalls after the headers, after half the body, or trickles
// below min_rate is cut off after about one stall_time, naming the
// problem and the key; an index that trickles above min_rate but never
// ends is cut off by index_timeout; a server that never answers by the
// header timeout.
func TestEveryReadStallEnds(t *testing.T) {
	type spoiler = func(http.ResponseWriter, *http.Request, []byte)
	tests := []struct {
		name  string
		tg    target
		spoil spoiler
		extra string // replaces fastNetwork when set
		msgs  []string
	}{
		{"index headers then nothing", targetIndex, headersThenNothing, "", []string{"fetch index for acme 2.4.1", "transfer too slow", "0 bytes in 300ms", "min_rate over stall_time"}},
		{"index half then nothing", targetIndex, halfThenNothing, "", []string{"fetch index for acme 2.4.1", "transfer too slow", "min_rate"}},
		{"index trickle", targetIndex, trickle(50 * time.Millisecond), "", []string{"fetch index for acme 2.4.1", "transfer too slow", "min_rate"}},
		{"index trickle above min_rate past index_timeout", targetIndex, trickle(20 * time.Millisecond),
			strings.Replace(fastNetwork, "min_rate = 1000", "min_rate = 1", 1), []string{"fetch index for acme 2.4.1", "not complete after 1.5s", "index_timeout"}},
		{"signature headers then nothing", targetSig, headersThenNothing, "", []string{"fetch index signature for acme 2.4.1", "transfer too slow", "0 bytes in"}},
		{"signature half then nothing", targetSig, halfThenNothing, "", []string{"fetch index signature", "transfer too slow"}},
		{"signature trickle", targetSig, trickle(50 * time.Millisecond), "", []string{"fetch index signature", "transfer too slow"}},
		{"signature trickle past index_timeout", targetSig, trickle(20 * time.Millisecond),
			strings.Replace(fastNetwork, "min_rate = 1000", "min_rate = 1", 1), []string{"fetch index signature", "index_timeout"}},
		{"archive headers then nothing", targetFix, headersThenNothing, "", []string{"fix 2.4.1.1: download", "transfer too slow", "0 bytes in"}},
		{"archive half then nothing", targetFix, halfThenNothing, "", []string{"fix 2.4.1.1: download", "transfer too slow"}},
		{"archive trickle", targetFix, trickle(50 * time.Millisecond), "", []string{"fix 2.4.1.1: download", "transfer too slow", "min_rate"}},
		{"index never answered", targetIndex, noAnswer, "", []string{"fetch index for acme 2.4.1", "timeout awaiting response headers", "connect_timeout"}},
		{"archive never answered", targetFix, noAnswer, "", []string{"fix 2.4.1.1: download", "timeout awaiting response headers", "connect_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			extra := tt.extra
			if extra == "" {
				extra = fastNetwork
			}
			e := newEnv(t, envOptions{Wrap: misbehave(tt.tg, tt.spoil), Extra: extra})
			c := e.client(t)
			before := snapshot(t, e.Root)
			start := time.Now()
			_, err := c.Install(context.Background(), InstallOptions{})
			if el := time.Since(start); el > 8*time.Second {
				t.Errorf("ended only after %s", el)
			}
			wantErr(t, err, nil, tt.msgs...)
			assertNothingInstalled(t, e, before)
			assertNoArchiveInCache(t, e)
		})
	}
}

// TestStallRetriesThenEnds: with retries, a stalled index is tried again,
// and the whole still ends in bounded time.
func TestStallRetriesThenEnds(t *testing.T) {
	var requests atomic.Int64
	spoil := func(w http.ResponseWriter, r *http.Request, body []byte) {
		requests.Add(1)
		headersThenNothing(w, r, body)
	}
	e := newEnv(t, envOptions{Wrap: misbehave(targetIndex, spoil), Extra: strings.Replace(fastNetwork, "retries = 0", "retries = 2", 1)})
	c := e.client(t)
	start := time.Now()
	_, err := c.Check(context.Background())
	wantErr(t, err, ErrStalled, "fetch index for acme 2.4.1", "transfer too slow")
	if el := time.Since(start); el > 8*time.Second {
		t.Errorf("three stalled attempts took %s", el)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("%d requests of the index, want 3 (1 + retries = 2)", n)
	}
}

// TestStallHonoursCancellation: a caller's cancellation ends a stalled
// read at once, long before the stall window.
func TestStallHonoursCancellation(t *testing.T) {
	for _, tg := range []target{targetIndex, targetSig, targetFix} {
		t.Run(string(tg), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{Wrap: misbehave(tg, headersThenNothing),
				Extra: "[network]\nstall_time = \"1m\"\nindex_timeout = \"5m\"\nretries = 3\n"})
			c := e.client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Install(ctx, InstallOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("cancellation took %s", el)
			}
		})
	}
}

// TestEncodedBodyRefused: a host that compresses what it serves is named
// as such, for the index, the signature and the archive, instead of "not
// a valid OpenPGP signature" or a hash mismatch.
func TestEncodedBodyRefused(t *testing.T) {
	for _, tc := range []struct {
		tg       target
		encoding string
		msg      string
	}{
		{targetIndex, "gzip", "fetch index for acme 2.4.1"},
		{targetSig, "gzip", "fetch index signature"},
		{targetFix, "gzip", "fix 2.4.1.1: download"},
		{targetSig, "br", "fetch index signature"},
		{targetFix, "deflate", "fix 2.4.1.1: download"},
	} {
		t.Run(string(tc.tg)+" "+tc.encoding, func(t *testing.T) {
			t.Parallel()
			spoil := func(w http.ResponseWriter, r *http.Request, body []byte) {
				// The bytes are as published; only the header lies, as a
				// proxy's compression does when it recompresses nothing.
				w.Header().Set("Content-Encoding", tc.encoding)
				w.WriteHeader(http.StatusOK)
				w.Write(body)
			}
			e := newEnv(t, envOptions{Wrap: misbehave(tc.tg, spoil), Extra: "[network]\nretries = 2\n"})
			c := e.client(t)
			before := snapshot(t, e.Root)
			_, err := c.Install(context.Background(), InstallOptions{})
			wantErr(t, err, nil, tc.msg, "Content-Encoding: "+tc.encoding, "served as they are", "turn off compression")
			if strings.Contains(err.Error(), "OpenPGP") {
				t.Errorf("error blames the signature: %v", err)
			}
			assertNothingInstalled(t, e, before)
			assertNoArchiveInCache(t, e)
		})
	}
}

// TestHeaderTimeoutOnRawSocket: a listener that accepts and never reads
// nor answers (a black-holed proxy) ends by the header timeout.
func TestHeaderTimeoutOnRawSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	e := newEnv(t, envOptions{Extra: fastNetwork, Edit: func(cfg string) string {
		return replaceRepo(cfg, "http://"+ln.Addr().String())
	}})
	c := e.client(t)
	start := time.Now()
	_, err = c.Check(context.Background())
	wantErr(t, err, nil, "fetch index for acme 2.4.1", "timeout awaiting response headers", "connect_timeout")
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("ended only after %s", el)
	}
}

// replaceRepo points a configuration text at another repository URL.
func replaceRepo(cfg, url string) string {
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(cfg, "\n") {
		if strings.HasPrefix(line, "repo = ") {
			line = "repo = " + strconv.Quote(url) + "\n"
		}
		out.WriteString(line)
	}
	return out.String()
}
