package app

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// TestMultiInstanceRedisFreeze stalls the processes' private Redis with
// SIGSTOP under load, with the default redis.timeout (100 ms) and
// on_store_failure (fail_open):
//
//   - exactness: team-a (rpm 300) is admitted no more than 300 times over
//     the whole run (well under a minute), before, during and after the
//     freeze. Each process decides on its share (300 / 3 live instances)
//     from the state Redis last reported, and hands Redis what it admitted
//     when it is back. (Before: each process fell back to a fresh full
//     bucket, admitting up to 3 x 300 more.)
//   - latency: team-b (a limit it never reaches, so every request is
//     decided) is answered during the freeze with a p99 at most 5 ms above
//     its p99 with Redis healthy: the failing store is skipped, not waited
//     for, except by one probe a second.
func TestMultiInstanceRedisFreeze(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	rp := startRedisProc(t)
	const rpm = 300
	rules := fmt.Sprintf("    - {scope: key, match: team-a, rpm: %d}\n    - {scope: key, match: team-b, rpm: 100000000}", rpm)
	cfg := strings.Replace(multiConfig(rp.Addr, "ferrytest:", config.FailOpen, rules), "timeout: 1s", "timeout: 100ms", 1)
	procs := startFerries(t, 3, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			for i, p := range procs {
				t.Logf("process %d log:\n%s", i, p.Stderr.String())
			}
		}
	})
	body := `{"model":"fast","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
	admittedA := 0
	countA := func(out []rlOutcome) {
		for _, o := range out {
			if o.key == multiKeyA && o.status == http.StatusOK {
				admittedA++
			}
		}
	}

	// Healthy: team-b's baseline; every process starts its heartbeat.
	healthy := driveKeys(t, procs, 8, 2500*time.Millisecond, []string{multiKeyB}, body, nil)
	// team-a through Redis, round robin: each process sees its count.
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	for i := range 30 {
		req, _ := http.NewRequest(http.MethodPost, procs[i%3].URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("X-Api-Key", multiKeyA)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("team-a request %d before the freeze: %d", i, resp.StatusCode)
		}
		admittedA++
	}
	seeded := admittedA

	rp.Freeze(t)
	frozen := driveKeys(t, procs, 8, 3*time.Second, []string{multiKeyA, multiKeyB}, body, nil)
	rp.Thaw(t)
	countA(frozen)
	duringFreeze := admittedA - seeded

	// Back: within a heartbeat (2 s) every process hands Redis what it
	// admitted; Redis then decides, the window still full.
	time.Sleep(2500 * time.Millisecond)
	after := driveKeys(t, procs, 3, time.Second, []string{multiKeyA}, body, nil)
	countA(after)

	base, stalled := p99(healthy, multiKeyB), p99(frozen, multiKeyB)
	t.Logf("team-a: %d admitted before the freeze, %d during it, %d after; limit %d in any rolling minute", seeded, duringFreeze, admittedA-seeded-duringFreeze, rpm)
	t.Logf("team-b p99: %v with Redis healthy (%d requests), %v with Redis frozen (%d requests): %v added",
		base, len(healthy), stalled, countKey(frozen, multiKeyB), stalled-base)
	if admittedA > rpm+rpm/100 {
		t.Errorf("team-a admitted %d times in under a minute, limit %d (+1%%)", admittedA, rpm)
	}
	if admittedA < rpm*9/10 {
		t.Errorf("team-a admitted %d times: the freeze should not hold back far more than its share (%d)", admittedA, rpm)
	}
	// The property itself: requests skip the frozen store instead of each
	// waiting out redis.timeout (100 ms; on the old code every decision
	// did, and p99 was 102 ms). Only the first decision per process and
	// its heartbeat's probe (one a second) may wait.
	slow := 0
	for _, o := range frozen {
		if o.key == multiKeyB && o.took >= 100*time.Millisecond {
			slow++
		}
	}
	if limit := 3 * (1 + 3 + 1); slow > limit {
		t.Errorf("%d team-b requests waited out the Redis timeout during the freeze, want at most %d: the failing store must be skipped", slow, limit)
	}
	// The figure: at most 5 ms added to p99. On a machine whose CPUs are
	// oversubscribed the p99 of either phase is scheduler noise, so the
	// figure is asserted only when the load leaves it meaningful.
	if stalled-base > 5*time.Millisecond {
		if load := loadPerCPU(); load > 1.5 {
			t.Logf("p99 %v above the healthy one, with a load of %.1f per CPU: not asserted (scheduler noise)", stalled-base, load)
		} else {
			t.Errorf("p99 during the freeze %v, %v above the healthy %v: want at most 5 ms added", stalled, stalled-base, base)
		}
	}
	for _, o := range frozen {
		if o.status != http.StatusOK && o.status != http.StatusTooManyRequests {
			t.Fatalf("during the freeze: %d %s, want 200 or 429 (fail_open)", o.status, o.errMsg)
		}
	}
	for i, p := range procs {
		text := p.Metrics(t)
		if n := metricValue(text, "ferry_ratelimit_store_errors_total", map[string]string{"backend": "redis", "mode": config.FailOpen}); n < 1 {
			t.Errorf("process %d counted %v store errors, want some", i, n)
		}
		if n := metricValue(text, "ferry_ratelimit_live_instances", nil); n != 3 {
			t.Errorf("process %d counts %v live instances, want 3", i, n)
		}
	}
}

// p99 is the 99th percentile of the answer times of key's requests.
func p99(out []rlOutcome, key string) time.Duration {
	var ds []time.Duration
	for _, o := range out {
		if o.key == key {
			ds = append(ds, o.took)
		}
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)*99/100]
}

func countKey(out []rlOutcome, key string) int {
	n := 0
	for _, o := range out {
		if o.key == key {
			n++
		}
	}
	return n
}

// TestMultiInstanceRedisStalls: two 0.5 s stalls of Redis (SIGSTOP) in a
// run of three processes under load. No more than the limit is admitted
// in the run (under a minute), stalls or not. (Before: each stall let
// every process fall back to a fresh full bucket. Then, on a loaded
// machine, 3058-3859: the heartbeat handing the debts over fell in the
// second stall, and what the processes decided in memory while it waited
// was not owed to Redis until the next one; see TestDebtsDuringHandOver.)
// The run lasts 3.5 s so that a loaded machine still reaches the limit.
func TestMultiInstanceRedisStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	rp := startRedisProc(t)
	const rpm = 3000
	rules := fmt.Sprintf("    - {scope: key, match: team-a, rpm: %d}", rpm)
	cfg := strings.Replace(multiConfig(rp.Addr, "ferrytest:", config.FailOpen, rules), "timeout: 1s", "timeout: 100ms", 1)
	procs := startFerries(t, 3, cfg)
	body := `{"model":"fast","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
	// One request each starts the heartbeats; two beats later each process
	// counts three.
	driveKeys(t, procs, 3, 50*time.Millisecond, []string{multiKeyB}, body, nil)
	time.Sleep(2200 * time.Millisecond)
	var timers []*time.Timer
	for _, at := range []struct {
		d      time.Duration
		freeze bool
	}{{300 * time.Millisecond, true}, {800 * time.Millisecond, false}, {1300 * time.Millisecond, true}, {1800 * time.Millisecond, false}} {
		timers = append(timers, time.AfterFunc(at.d, func() {
			if at.freeze {
				rp.Freeze(t)
			} else {
				rp.Thaw(t)
			}
		}))
	}
	out := driveKeys(t, procs, 4, 3500*time.Millisecond, []string{multiKeyA}, body, nil)
	for _, tm := range timers {
		tm.Stop()
	}
	rp.Thaw(t)
	ok, refused := count(t, out)
	t.Logf("%d requests: %d admitted, %d refused; limit %d in any rolling minute", len(out), ok, refused, rpm)
	if os.Getenv("FERRY_DEBUG_TIMELINE") != "" {
		t0 := out[0].start
		per := map[int]int{}
		for _, o := range out {
			if o.status == http.StatusOK {
				per[int(o.start.Sub(t0)/(100*time.Millisecond))]++
			}
		}
		t.Logf("admitted per 100 ms: %v", per)
		for i, p := range procs {
			t.Logf("process %d log:\n%s", i, p.Stderr.String())
		}
	}
	if ok > rpm+rpm/100 {
		t.Errorf("admitted %d in under a minute with two stalls, limit %d (+1%%)", ok, rpm)
	}
	if refused == 0 {
		t.Error("nothing refused: the load did not reach the limit")
	}
}

// loadPerCPU is the one-minute load average per CPU, 0 when unknown.
func loadPerCPU() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	l, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return l / float64(runtime.NumCPU())
}
