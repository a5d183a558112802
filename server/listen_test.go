package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServer runs ListenAndServe on a free loopback port and returns its
// address and the channel its result arrives on.
func startServer(t *testing.T, ctx context.Context, h http.Handler) (string, <-chan error) {
	t.Helper()
	ready := make(chan net.Addr, 1)
	result := make(chan error, 1)
	go func() {
		result <- ListenAndServe(ctx, "127.0.0.1:0", h, nil, func(a net.Addr) { ready <- a })
	}()
	select {
	case a := <-ready:
		return a.String(), result
	case err := <-result:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server never became ready")
	}
	return "", nil
}

func waitResult(t *testing.T, result <-chan error) error {
	t.Helper()
	select {
	case err := <-result:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("ListenAndServe did not return after cancel")
		return nil
	}
}

func TestListenAndServeShutdown(t *testing.T) {
	h, err := New(newRepo(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, result := startServer(t, ctx, h)

	resp, err := http.Get("http://" + addr + "/repo.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"products":[]}` {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}

	cancel()
	if err := waitResult(t, result); err != nil {
		t.Fatalf("ListenAndServe after cancel = %v, want nil", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("port %s still accepts connections after shutdown", addr)
	}
}

// A download in flight when the signal comes finishes before the server
// returns.
func TestListenAndServeFinishesInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, result := startServer(t, ctx, h)

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	select {
	case err := <-result:
		t.Fatalf("returned %v while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q, want done", body)
	}
	if err := waitResult(t, result); err != nil {
		t.Fatalf("ListenAndServe = %v, want nil", err)
	}
}

func TestListenAndServeGraceExceeded(t *testing.T) {
	old := shutdownGrace
	shutdownGrace = 100 * time.Millisecond
	defer func() { shutdownGrace = old }()

	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, result := startServer(t, ctx, h)
	go func() {
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	err := waitResult(t, result)
	if err == nil || !strings.Contains(err.Error(), "shut down server on "+addr) {
		t.Fatalf("err = %v, want a shutdown error naming %s", err, addr)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	err = ListenAndServe(context.Background(), addr, http.NotFoundHandler(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "listen on "+addr) {
		t.Fatalf("err = %v, want one naming %s", err, addr)
	}
}
