package statefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type counter struct {
	N    int               `json:"n"`
	Tags map[string]string `json:"tags,omitempty"`
}

func TestLoadSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f := File[counter]{Path: filepath.Join(dir, "sub", "c.json"), Perm: 0o600}
	v, found, err := f.Load()
	if err != nil || found || v == nil || v.N != 0 {
		t.Fatalf("Load of a missing file = %+v, %v, %v; want a zero value, not found", v, found, err)
	}
	if err := f.Save(&counter{N: 3, Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	v, found, err = f.Load()
	if err != nil || !found || v.N != 3 || v.Tags["a"] != "b" {
		t.Fatalf("Load = %+v, %v, %v", v, found, err)
	}
	fi, err := os.Stat(f.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(filepath.Dir(f.Path))
	if len(ents) != 1 {
		t.Errorf("temporaries left: %v", ents)
	}
}

func TestLoadIsStrict(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field": `{"n": 1, "other": 2}`,
		"trailing data": `{"n": 1} {"n": 2}`,
		"not json":      `n = 1`,
		"truncated":     `{"n": 1`,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.json")
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, found, err := File[counter]{Path: p}.Load()
			var de *DamagedError
			if !found || !errors.Is(err, ErrDamaged) || !errors.As(err, &de) || de.Path != p {
				t.Fatalf("Load(%q) = found %v, %v; want a *DamagedError for %s", body, found, err, p)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(p, []byte("{\"n\": 1}\n\n"), 0o644)
	if v, _, err := (File[counter]{Path: p}).Load(); err != nil || v.N != 1 {
		t.Errorf("trailing white space refused: %+v, %v", v, err)
	}
}

// TestUpdateUnderLock: concurrent updaters never lose an increment.
func TestUpdateUnderLock(t *testing.T) {
	dir := t.TempDir()
	f := File[counter]{Path: filepath.Join(dir, "c.json"), Lock: filepath.Join(dir, "lock", "c.lock"), Wait: time.Minute, Command: "test"}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.Update(context.Background(), func(c *counter) error { c.N++; return nil })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, _, err := f.Load()
	if err != nil || v.N != n {
		t.Fatalf("after %d updates: %+v, %v", n, v, err)
	}
	if _, err := os.Stat(f.Lock); err != nil {
		t.Errorf("the lock file must stay: %v", err)
	}
	boom := errors.New("boom")
	if err := f.Update(context.Background(), func(c *counter) error { c.N = -1; return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if v, _, _ := f.Load(); v.N != n {
		t.Errorf("a failed change was written: %+v", v)
	}
}

func TestRemove(t *testing.T) {
	f := File[counter]{Path: filepath.Join(t.TempDir(), "c.json")}
	if was, err := f.Remove(); was || err != nil {
		t.Fatalf("Remove of nothing = %v, %v", was, err)
	}
	if err := f.Save(&counter{N: 1}); err != nil {
		t.Fatal(err)
	}
	if was, err := f.Remove(); !was || err != nil {
		t.Fatalf("Remove = %v, %v", was, err)
	}
	if _, found, _ := f.Load(); found {
		t.Error("file still there")
	}
}
