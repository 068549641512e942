//go:build race

package ids

// raceEnabled: the race detector adds allocations, so alloc counts are not checked.
const raceEnabled = true
