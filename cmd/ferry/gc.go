package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The garbage collector's settings for `ferry serve`, when the environment
// leaves them to Ferry: GOGC and GOMEMLIMIT, when set (even to "off"),
// are the runtime's and are never changed here.
//
// GOGC 200 rather than Go's 100: the gateway's live heap is small (a few
// MB besides caches), so at 100 it collects often and the collector was
// ~8% of its CPU under load. Measured on BenchmarkGatewayCodeJSON and
// BenchmarkGatewayCodeTranslated (internal/app: one request through the
// whole handler, the network replaced by a canned answer), process CPU
// (user+sys) over 40,000 requests, median of 5 rounds alternating the
// settings on a shared 2-vCPU machine: passthrough 19.8 -> 16.0 µs per
// request at 200 (-19%; 14.5 at 400), translated 43.3 -> 36.5 µs (-16%;
// 32.8 at 400), for a peak RSS of 53 -> 62 MB (80 MB at 400). 400 saves a
// little more CPU for twice the extra memory: 200 is the default.
//
// A heap allowed to grow further needs a bound where memory is bounded:
// in a container with a memory limit (cgroup v2 memory.max, or v1
// memory.limit_in_bytes), the soft limit is 90% of it, so that the
// collector works harder as the heap nears the limit instead of the
// container being killed. Without a known limit there is no soft limit.
const (
	defaultGCPercent = 200
	memLimitShare    = 0.9
)

// cgroupFiles hold a container's memory limit: cgroup v2's, then v1's.
var cgroupFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// tuneGC applies the defaults above to what env leaves unset, and returns
// what it set: the GC percent (0: left alone) and the soft memory limit
// (0: none set).
func tuneGC(env func(string) (string, bool), readFile func(string) ([]byte, error)) (percent int, limit int64) {
	if v, ok := env("GOGC"); !ok || v == "" {
		percent = defaultGCPercent
		debug.SetGCPercent(percent)
	}
	if v, ok := env("GOMEMLIMIT"); !ok || v == "" {
		if max, ok := containerMemory(readFile); ok {
			limit = int64(float64(max) * memLimitShare)
			debug.SetMemoryLimit(limit)
		}
	}
	return percent, limit
}

// containerMemory is the container's memory limit, if it has one.
func containerMemory(readFile func(string) ([]byte, error)) (int64, bool) {
	for _, f := range cgroupFiles {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		// "max" (v2) or a number near 2^63 (v1): no limit.
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// tuneServeGC is tuneGC on the process's own environment (the one the
// runtime read GOGC and GOMEMLIMIT from) and cgroup.
func tuneServeGC() { tuneGC(os.LookupEnv, os.ReadFile) }
