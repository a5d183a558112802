package publish

import (
	"context"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// forEach runs fn(i) for every i in [0,n) on every core and returns each
// call's error by index: an add or a verification reports every bad
// archive, not the first. Once ctx is done no call starts, and forEach
// returns ctx's error.
func forEach(ctx context.Context, n int, fn func(i int) error) ([]error, error) {
	return forEachN(ctx, n, runtime.GOMAXPROCS(0), fn)
}

// forEachN is forEach with workers calls at a time: more than the cores
// where the calls also wait for the disk.
func forEachN(ctx context.Context, n, workers int, fn func(i int) error) ([]error, error) {
	errs := make([]error, n)
	var g errgroup.Group
	g.SetLimit(workers)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			errs[i] = fn(i)
			return nil
		})
	}
	g.Wait()
	return errs, ctx.Err()
}
