//go:build unix

package server

import (
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO in the repository must not hang the request (opening it would
// block until a writer appears).
func TestFIFONotServed(t *testing.T) {
	root := newRepo(t)
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, root, nil)
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/pipe.json")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case code := <-done:
		if code != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request for a FIFO hung")
	}
}
