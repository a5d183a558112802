package sign

import (
	"sync"
	"testing"
)

// TestSignerConcurrentUse signs and exports from many goroutines: run with
// -race, it fails if the shared entity is written without the lock.
func TestSignerConcurrentUse(t *testing.T) {
	s, err := LoadSigner("../testdata/keys/vendor.sec.asc", nil)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := LoadKeyring("../testdata/keys/vendor.pub.asc")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := []byte("index")
			sig, err := s.SignDetached(data)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.ArmoredPublic(); err != nil {
				t.Error(err)
			}
			if _, err := kr.Verify(data, sig, s.now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
