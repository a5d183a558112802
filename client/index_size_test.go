package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// An index just over the client's max_index_size is refused however it
// arrives (a declared length, a chunked body, a file:// repository), and
// the refusal names the key, its value and the configuration file; an
// index of exactly the limit is read.
func TestIndexSizeLimitNamesTheKey(t *testing.T) {
	chunked := func(next http.Handler) http.Handler {
		// Flushing before the first byte makes the server send the body
		// chunked, with no Content-Length to refuse early on.
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			next.ServeHTTP(w, r)
		})
	}
	tests := []struct {
		name  string
		over  int64 // the limit is the index's size minus over
		wrap  func(http.Handler) http.Handler
		file  bool
		wantE bool
	}{
		{"one byte over, with Content-Length", 1, nil, false, true},
		{"one byte over, chunked", 1, chunked, false, true},
		{"one byte over, file://", 1, nil, true, true},
		{"exactly the limit", 0, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			info, err := os.Stat(r.indexPath())
			if err != nil {
				t.Fatal(err)
			}
			limit := info.Size() - tt.over
			e := newEnv(t, envOptions{Repo: r, Wrap: tt.wrap, FileURL: tt.file, Extra: fmt.Sprintf("[network]\nmax_index_size = %d\n", limit)})
			_, err = e.client(t).Check(context.Background())
			if !tt.wantE {
				if err != nil {
					t.Fatalf("an index of exactly max_index_size was refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is not ErrTooLarge", err)
			}
			for _, w := range []string{"index", fmt.Sprintf("[network] max_index_size = %d bytes in %s", limit, e.Config), "raise it"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
