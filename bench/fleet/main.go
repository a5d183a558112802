// Command fleet is the load generator of bench/fleet.sh: N simulated
// servers, each a goroutine running the real client code (client.New and
// Check or Download, with its own state and cache directories), against one
// repository URL. One run is one phase; the script runs cold, unchanged and
// night in turn over the same work directory, so each phase starts from the
// state the previous one left, as a real fleet's next check would.
//
// It prints requests/s, bytes per client per check, p50/p99 latency of one
// check, errors and, with -spread, the peak completion rate of a random_wait
// compressed into -spread (1 h mapped to that duration).
//
// Requests are counted from what the client code does: two conditional
// requests per check (index and signature; retries are off) plus one per
// archive that was not already in the cache.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotfix-project/hotfix/client"
)

type result struct {
	lat      time.Duration
	done     time.Duration // since the phase start
	bytes    int64
	requests int
	err      error
}

func main() {
	url := flag.String("url", "", "repository URL (http://127.0.0.1:PORT)")
	n := flag.Int("n", 2000, "simulated clients")
	work := flag.String("work", "", "work directory: one subdirectory per client, kept between phases")
	keys := flag.String("keys", "", "trusted public key file or directory")
	phase := flag.String("phase", "check", "check (Check only) or download (Check and the pending archives)")
	label := flag.String("label", "", "name printed with the figures")
	spread := flag.Duration("spread", 0, "random_wait compressed: each client waits a random time in [0, spread) first")
	timeout := flag.Duration("timeout", 4*time.Minute, "the whole phase stops after this")
	flag.Parse()
	if *url == "" || *work == "" || *keys == "" || (*phase != "check" && *phase != "download") {
		fmt.Fprintln(os.Stderr, "usage: fleet -url URL -work DIR -keys KEYS [-n N] [-phase check|download] [-spread D]")
		os.Exit(2)
	}
	if !strings.HasPrefix(*url, "http://127.0.0.1:") {
		fmt.Fprintln(os.Stderr, "fleet: only loopback repositories (http://127.0.0.1:PORT)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	clients, err := setup(*url, *work, *keys, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
	res := run(ctx, clients, *phase, *spread)
	report(*label, res, *spread)
	for _, r := range res {
		if r.err != nil {
			os.Exit(1)
		}
	}
}

// setup makes (or reuses) each client's directories and configuration.
func setup(url, work, keys string, n int) ([]*client.Client, error) {
	out := make([]*client.Client, n)
	for i := range out {
		dir := filepath.Join(work, fmt.Sprintf("c%05d", i))
		root := filepath.Join(dir, "root")
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(root, "VERSION"), []byte("1.0\n"), 0o644); err != nil {
			return nil, err
		}
		text := client.SandboxConfig(url, "bench", root, keys, dir)
		cfg, err := client.ParseConfig(filepath.Join(dir, "hotfix.toml"), []byte(text))
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		c, err := client.New(cfg, nil)
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		out[i] = c
	}
	return out, nil
}

// cached counts the archives in a client's cache, to tell the archives a
// download fetched from those it found already there.
func cached(c *client.Client) int {
	m, _ := filepath.Glob(filepath.Join(c.Cfg.CacheDir, "bench", "*", "*.fix"))
	return len(m)
}

func run(ctx context.Context, clients []*client.Client, phase string, spread time.Duration) []result {
	res := make([]result, len(clients))
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if spread > 0 {
				select {
				case <-time.After(rand.N(spread)):
				case <-ctx.Done():
					res[i].err = ctx.Err()
					return
				}
			}
			before, t0 := cached(c), time.Now()
			c.Fetcher.Transferred.Store(0)
			var err error
			if phase == "download" {
				_, err = c.Download(ctx, nil, nil)
			} else {
				_, err = c.Check(ctx)
			}
			r := &res[i]
			r.lat, r.done, r.err = time.Since(t0), time.Since(start), err
			r.bytes, r.requests = c.Fetcher.Transferred.Load(), 2+cached(c)-before
			if err != nil && failed.Add(1) <= 3 {
				fmt.Fprintf(os.Stderr, "fleet: client %d: %v\n", i, err)
			}
		}()
	}
	wg.Wait()
	return res
}

func report(label string, res []result, spread time.Duration) {
	var lats []time.Duration
	var bytes int64
	var reqs, errs int
	var wall time.Duration
	for _, r := range res {
		if r.err != nil {
			errs++
			continue
		}
		lats = append(lats, r.lat)
		bytes += r.bytes
		reqs += r.requests
		wall = max(wall, r.done)
	}
	ok := len(lats)
	if ok == 0 {
		fmt.Printf("%-22s clients=%d errors=%d\n", label, len(res), errs)
		return
	}
	slices.Sort(lats)
	pct := func(p float64) time.Duration { return lats[min(ok-1, int(p*float64(ok)))] }
	fmt.Printf("%-22s clients=%d wall=%.2fs req=%d req/s=%.0f body-bytes/client=%d p50=%s p99=%s errors=%d\n",
		label, len(res), wall.Seconds(), reqs, float64(reqs)/wall.Seconds(), bytes/int64(ok),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), errs)
	if spread > 0 {
		// Requests per 100 ms bucket of completion time: the peak against
		// the mean says how much a uniform random_wait flattens the night.
		const bucket = 100 * time.Millisecond
		counts := make([]int, int(wall/bucket)+1)
		for _, r := range res {
			if r.err == nil {
				counts[int(r.done/bucket)] += r.requests
			}
		}
		peak := slices.Max(counts)
		mean := float64(reqs) / spread.Seconds()
		fmt.Printf("%-22s random_wait 1h->%s: mean=%.0f req/s peak=%.0f req/s (100 ms buckets) peak/mean=%.2f\n",
			label, spread, mean, float64(peak)/bucket.Seconds(), float64(peak)/bucket.Seconds()/mean)
	}
}
