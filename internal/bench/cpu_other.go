//go:build !unix

package bench

import "time"

// ProcessCPU is not measured on this platform: it reads 0, and the CPU
// figures of `ferry bench --simulate` are left out.
func ProcessCPU() time.Duration { return 0 }
