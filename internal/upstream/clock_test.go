package upstream

import (
	"math/rand/v2"
	"sync"
)

// seeded is a deterministic Rand for pools.
func seeded(seed uint64) func() float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}

// fixed is a Rand that always returns v.
func fixed(v float64) func() float64 { return func() float64 { return v } }
