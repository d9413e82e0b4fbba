//go:build race

package ws_test

// raceEnabled reports whether the race detector is on: it allocates when
// a goroutine starts, so allocation tests skip.
const raceEnabled = true
