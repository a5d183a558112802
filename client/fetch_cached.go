package client

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/hotfix-project/hotfix/repo"
)

// etags are the validators of the cached copies of a signed index and
// its signature (etags.json in the index's cache directory): the ETag a
// server sent, or its Last-Modified when it sent no ETag.
type etags struct {
	Index         string `json:"index"`
	Sig           string `json:"sig"`
	IndexModified string `json:"index_modified,omitempty"`
	SigModified   string `json:"sig_modified,omitempty"`
}

// signedFetch is an index and its signature fetched by fetchSigned.
type signedFetch struct {
	dir       string
	Data, Sig []byte
	tags      etags
	fresh     bool // either came from the network: keep caches them
}

// sigFetchError marks, in fetchSigned's error, the signature's fetch
// (the index itself came): callers word the two failures apart.
type sigFetchError struct{ err error }

func (e *sigFetchError) Error() string { return e.err.Error() }
func (e *sigFetchError) Unwrap() error { return e.err }

// fetchSigned fetches rel (an index, at most limit bytes) and its
// signature with conditional requests against the copies cached in dir
// (If-None-Match with the cached ETag, else If-Modified-Since with the
// cached Last-Modified): an unchanged file costs an answer 304 and no
// body. A copy the server says is unchanged is returned as cached, and
// the caller verifies it exactly as a fresh one (a damaged cache fails
// loudly, never passes); keep caches what was fetched once it has. The
// vendor's channel index and a customer's index are fetched alike.
func (c *Client) fetchSigned(ctx context.Context, dir, rel string, limit int64) (*signedFetch, error) {
	var tags etags
	if b, err := os.ReadFile(filepath.Join(dir, "etags.json")); err == nil {
		json.Unmarshal(b, &tags)
	}
	cachedIndex, ierr := os.ReadFile(filepath.Join(dir, repo.IndexName))
	cachedSig, serr := os.ReadFile(filepath.Join(dir, repo.IndexName+repo.SigSuffix))
	if ierr != nil || serr != nil {
		tags = etags{}
	}
	out := &signedFetch{dir: dir}
	data, iv, same, err := c.Fetcher.Conditional(ctx, rel, limit, Validators{ETag: tags.Index, LastModified: tags.IndexModified})
	if err != nil {
		return nil, err
	}
	if same {
		data = cachedIndex
	} else {
		tags.Sig, tags.SigModified = "", "" // a new index needs its new signature
	}
	sig, sv, sameSig, err := c.Fetcher.Conditional(ctx, rel+repo.SigSuffix, 64<<10, Validators{ETag: tags.Sig, LastModified: tags.SigModified})
	if err != nil {
		return nil, &sigFetchError{err}
	}
	if sameSig {
		sig = cachedSig
	}
	out.Data, out.Sig, out.fresh = data, sig, !same || !sameSig
	out.tags = etags{Index: iv.ETag, Sig: sv.ETag, IndexModified: iv.LastModified, SigModified: sv.LastModified}
	return out, nil
}

// keep caches a fetch the caller has verified, with its validators.
func (c *Client) keep(f *signedFetch) {
	if !f.fresh {
		return
	}
	if err := c.cacheIndex(f.dir, f.Data, f.Sig, f.tags); err != nil {
		c.Log.Warn("cache index", "dir", f.dir, "err", err)
	}
}

// cacheIndex writes an index, its signature and their validators.
func (c *Client) cacheIndex(dir string, data, sig []byte, tags etags) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tb, _ := json.Marshal(tags)
	// The etags go last and are dropped first: a crash in between costs a
	// full fetch next time, never a wrong 304.
	os.Remove(filepath.Join(dir, "etags.json"))
	if err := writeFileAtomic(filepath.Join(dir, repo.IndexName), data); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, repo.IndexName+repo.SigSuffix), sig); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "etags.json"), tb)
}
