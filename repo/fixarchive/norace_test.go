//go:build !race

package fixarchive

const raceEnabled = false
