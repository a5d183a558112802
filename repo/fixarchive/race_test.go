//go:build race

package fixarchive

// raceEnabled shrinks the few tests whose payload size only matters for
// speed: the race detector makes xz compression about 45 times slower.
const raceEnabled = true
