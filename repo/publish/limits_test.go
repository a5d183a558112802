package publish

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotfix-project/hotfix/internal/testkit"
	"github.com/hotfix-project/hotfix/repo"
)

// Build refuses an index larger than clients read, just over the bound,
// and publishes one of exactly the bound; nothing of a refused channel is
// written.
func TestBuildRefusesIndexOverClientLimit(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	index := filepath.Join(channelDir(root), repo.IndexName)
	before, _ := os.ReadFile(index)
	// The next builds' indexes have the same size: serials 2, 3 and 4
	// are as long as 1, the times are whole seconds.
	size := int64(len(before))
	tests := []struct {
		name  string
		limit int64
		want  bool // refused
	}{
		{"far over", 200, true},
		{"one byte over", size - 1, true},
		{"exactly the limit", size, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, _ := os.ReadFile(index)
			_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t), MaxIndexSize: tt.limit})
			if !tt.want {
				if err != nil {
					t.Fatalf("an index of exactly the limit was refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrIndexTooLarge) {
				t.Fatalf("error %v is not ErrIndexTooLarge", err)
			}
			testkit.WantErr(t, err, "index.json of acme 2.4.1", "clients would refuse it", "max_index_size")
			var se *IndexSizeError
			if !errors.As(err, &se) || se.Size != size || se.Limit != tt.limit {
				t.Errorf("error %#v, want size %d and limit %d", se, size, tt.limit)
			}
			if after, _ := os.ReadFile(index); !bytes.Equal(prev, after) {
				t.Error("a refused build rewrote index.json")
			}
			noTemporaries(t, root)
		})
	}
}

// Without MaxIndexSize the bound is the clients' default, and the message
// says so.
func TestIndexSizeDefaultIsTheClients(t *testing.T) {
	if err := checkIndexSize("acme", repo.MustParseVersion("2.4.1"), repo.MaxIndexSize, 0); err != nil {
		t.Fatalf("an index of exactly the default was refused: %v", err)
	}
	err := checkIndexSize("acme", repo.MustParseVersion("2.4.1"), repo.MaxIndexSize+1, 0)
	testkit.WantErr(t, err, "8388609 bytes (8.0 MiB)", "8388608 bytes (8 MiB) every client reads by default ([network] max_index_size)")
}

// repo verify reports an index over the bound as a problem, with the rest.
func TestVerifyReportsIndexOverClientLimit(t *testing.T) {
	root, _ := builtRepo(t, BuildOptions{})
	now := time.Now()
	problems, err := VerifyRepo(t.Context(), root, VerifyOptions{Check: keyringCheck(t, vendorPublic, now), Now: now, MaxIndexSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !errors.Is(problems[0].Err, ErrIndexTooLarge) || !strings.Contains(problems[0].String(), "acme/2.4.1/index.json") {
		t.Fatalf("problems %v, want one: the index over 300 bytes", problems)
	}
}

// Build refuses an expiry too short to reach clients.
func TestBuildRefusesShortExpiry(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, time.Second, 59 * time.Minute} {
		root := t.TempDir()
		_, err := Build(t.Context(), root, BuildOptions{Signer: vendorSigner(t), Expires: d})
		if !errors.Is(err, ErrExpiresTooShort) {
			t.Errorf("expires %s: error %v, want ErrExpiresTooShort", d, err)
		}
		testkit.WantErr(t, err, d.String(), "shortest is 1h0m0s")
		if ents, _ := os.ReadDir(root); len(ents) != 0 {
			t.Errorf("expires %s: a refused build wrote %d entries", d, len(ents))
		}
	}
	if _, err := Build(t.Context(), t.TempDir(), BuildOptions{Signer: vendorSigner(t), Expires: MinExpires}); err != nil {
		t.Errorf("expires %s: %v", MinExpires, err)
	}
}
