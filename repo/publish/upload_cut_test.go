package publish

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hotfix-project/hotfix/internal/testkit"
)

// TestPublishS3ClientAfterEveryObject: a repository of 2 fixes is
// published, then grown by one; while the new version goes up, a client
// checks and downloads from the bucket over plain HTTP after every
// object. Every state is accepted (the old chain or the new), except for
// one upload's time between an index and its signature. Then the publish
// is cut (its context ends, as when the network goes) in the archives,
// between an index and its signature, and between repo.json and its
// signature: each cut leaves a bucket the client accepts, and a rerun
// finishes it.
func TestPublishS3ClientAfterEveryObject(t *testing.T) {
	r := newPubRepo(t, 2, 1, true)
	v1 := filepath.Join(t.TempDir(), "v1")
	testkit.CopyTree(t, r.Root, v1)
	r.grow(t, 1)
	moto := testkit.StartMoto(t)
	moto.CreatePublicBucket(t, "cdn")

	d, c := publishOld(t, moto, v1, "every")
	var order []string
	_, err := Publish(t.Context(), r.Root, d, PublishOptions{Workers: 1, AfterObject: func(key string) {
		order = append(order, key)
		checkOldOrNew(t, c, "every", key)
	}})
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, order)
	if n, err := c.pending(t.Context()); err != nil || n != 3 {
		t.Fatalf("client after the publish: %d pending, %v", n, err)
	}

	// Cut points: after the first archive, after the first index (its
	// signature not yet up), after repo.json.
	cuts := map[string]int{"archive": 1, "index": slices.Index(order, "pub/1.0/index.json") + 1, "root": slices.Index(order, "repo.json") + 1}
	for name, k := range cuts {
		t.Run(name, func(t *testing.T) {
			prefix := "cut-" + name
			d, c := publishOld(t, moto, v1, prefix)
			ctx, after := ctxAfter(t.Context(), k, nil)
			_, err := Publish(ctx, r.Root, d, PublishOptions{Workers: 1, AfterObject: after})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cut publish: %v, want it cancelled", err)
			}
			if name != "index" {
				checkOldOrNew(t, c, prefix, order[k-1])
			}
			res, err := Publish(t.Context(), r.Root, d, PublishOptions{})
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if len(res.Actions) != len(order)-k {
				t.Errorf("rerun uploaded %d objects, want the %d left", len(res.Actions), len(order)-k)
			}
			if n, err := c.pending(t.Context()); err != nil || n != 3 {
				t.Fatalf("client after the rerun: %d pending, %v", n, err)
			}
		})
	}
}
