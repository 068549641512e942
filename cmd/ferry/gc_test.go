package main

import (
	"errors"
	"io/fs"
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC: GOGC 200 and a soft memory limit at 90% of the container's
// when the environment sets neither; GOGC and GOMEMLIMIT, when set, are
// left to the runtime; no limit without a container's.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := func(kv map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
	}
	files := func(kv map[string]string) func(string) ([]byte, error) {
		return func(f string) ([]byte, error) {
			if v, ok := kv[f]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	v2, v1 := cgroupFiles[0], cgroupFiles[1]
	for _, tc := range []struct {
		name        string
		env, files  map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"defaults, cgroup v2", nil, map[string]string{v2: "1073741824\n"}, 200, 966367641},
		{"defaults, cgroup v1", nil, map[string]string{v1: "2147483648\n"}, 200, 1932735283},
		{"no container limit", nil, map[string]string{v2: "max\n"}, 200, 0},
		{"v1 unlimited", nil, map[string]string{v1: "9223372036854771712\n"}, 200, 0},
		{"no cgroup", nil, nil, 200, 0},
		{"GOGC set", map[string]string{"GOGC": "off"}, map[string]string{v2: "1073741824"}, 0, 966367641},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, map[string]string{v2: "1073741824"}, 200, 0},
		{"empty is unset", map[string]string{"GOGC": "", "GOMEMLIMIT": ""}, nil, 200, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			percent, limit := tuneGC(env(tc.env), files(tc.files))
			if percent != tc.wantPercent || limit != tc.wantLimit {
				t.Fatalf("set GC percent %d, limit %d; want %d, %d", percent, limit, tc.wantPercent, tc.wantLimit)
			}
			wantGC := 100
			if tc.wantPercent != 0 {
				wantGC = tc.wantPercent
			}
			if got := debug.SetGCPercent(100); got != wantGC {
				t.Errorf("runtime GC percent %d, want %d", got, wantGC)
			}
			wantLimit := int64(math.MaxInt64)
			if tc.wantLimit != 0 {
				wantLimit = tc.wantLimit
			}
			if got := debug.SetMemoryLimit(-1); got != wantLimit {
				t.Errorf("runtime memory limit %d, want %d", got, wantLimit)
			}
		})
	}
	if _, ok := containerMemory(func(string) ([]byte, error) { return nil, errors.New("unreadable") }); ok {
		t.Error("a limit from unreadable files")
	}
}
