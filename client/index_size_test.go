package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotfix-project/hotfix/repo"
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

// A customer index over max_index_size (the vendor's index within it) is
// refused the same way, however it arrives, naming the key, its value
// and the configuration file.
func TestCustomIndexSizeLimitNamesTheKey(t *testing.T) {
	for _, file := range []bool{false, true} {
		t.Run(fmt.Sprintf("file %v", file), func(t *testing.T) {
			r := newRepo(t)
			var fixes []string
			for i := range 6 {
				fixes = append(fixes, packCustomFix(t, "shop-a", fmt.Sprintf("IS-%d", i), "1", map[string]string{fmt.Sprintf("lib/c%d.php", i): "c\n"}, ""))
			}
			r.addCustom(t, fixes...)
			vendor, err := os.Stat(r.indexPath())
			if err != nil {
				t.Fatal(err)
			}
			custom, err := os.Stat(filepath.Join(r.customDir("shop-a"), repo.IndexName))
			if err != nil {
				t.Fatal(err)
			}
			limit := custom.Size() - 1
			if vendor.Size() > limit {
				t.Fatalf("setup: the vendor index (%d bytes) is not within the limit %d", vendor.Size(), limit)
			}
			e := newEnv(t, envOptions{Repo: r, FileURL: file, Extra: fmt.Sprintf("%s[network]\nmax_index_size = %d\n", customerLine, limit)})
			_, err = e.client(t).Check(context.Background())
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is not ErrTooLarge", err)
			}
			for _, w := range []string{"customer index of shop-a", fmt.Sprintf("[network] max_index_size = %d bytes in %s", limit, e.Config), "raise it"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
