package publish

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// forEach runs fn(i) for every i in [0,n) on every core and returns each
// call's error by index: an add or a verification reports every bad
// archive, not the first. Once ctx is done no call starts, and forEach
// returns ctx's error.
func forEach(ctx context.Context, n int, fn func(i int) error) ([]error, error) {
	return forEachN(ctx, n, runtime.GOMAXPROCS(0), fn)
}

// forEachN is forEach with workers calls at a time: more than the cores
// where the calls also wait for the disk. The workers are long-lived
// goroutines taking the next i in turn (one goroutine per call would
// grow a fresh stack for each of a thousand archives).
func forEachN(ctx context.Context, n, workers int, fn func(i int) error) ([]error, error) {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				errs[i] = fn(i)
			}
		})
	}
	wg.Wait()
	return errs, ctx.Err()
}
