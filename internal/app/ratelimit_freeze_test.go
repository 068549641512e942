package app

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
//   - skipping: the failing store is skipped, not waited for, except by
//     the decisions already on their way when it froze and by one probe a
//     second. Counted in Redis (MONITOR): the admit calls it ran once
//     thawed, at most one per client worker and process.
//   - latency: team-b (a limit it never reaches, so every request is
//     decided) is answered during the freeze with a p99 at most 5 ms above
//     its p99 with Redis healthy, where the load leaves that figure
//     meaningful.
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

	mon := monitorRedis(t, rp.Addr)
	rp.Freeze(t)
	const workers, freezeFor = 8, 3 * time.Second
	frozen := driveKeys(t, procs, workers, freezeFor, []string{multiKeyA, multiKeyB}, body, nil)
	rp.Thaw(t)
	countA(frozen)
	duringFreeze := admittedA - seeded

	// Back: within a heartbeat (2 s) every process hands Redis what it
	// admitted; Redis then decides, the window still full.
	time.Sleep(2500 * time.Millisecond)
	// What the processes sent the frozen Redis it ran once thawed (the
	// commands wait in its sockets, their clients long gone).
	admits, dials := storeCalls(mon.upTo(t, "ferry-test-thawed"), "ferrytest:rl:w:")
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
	// The property itself: decisions skip the frozen store instead of
	// each asking it and waiting out redis.timeout (100 ms; on the old
	// code every decision did, and p99 was 102 ms). Only a decision that
	// starts before its process has seen a call fail asks: at most one
	// per worker and process, since a worker's own failed call marks its
	// process failing before it answers; and the heartbeat probes, one a
	// second. Counted by Redis, not timed (on a loaded machine many
	// requests take 100 ms without waiting for it): each call ran once
	// thawed, as an admit on a pooled connection or, on a new one, as the
	// HELLO the client sent before it (the probes' live.lua is not
	// counted; their HELLOs are).
	asked := admits + dials
	if limit := workers*len(procs) + len(procs)*int(1+freezeFor/time.Second); asked > limit {
		t.Errorf("%d calls reached the frozen Redis (%d admits, %d connections), want at most %d (one per worker and process, and the probes): the failing store must be skipped",
			asked, admits, dials, limit)
	}
	slow := 0
	for _, o := range frozen {
		if o.key == multiKeyB && o.took >= 100*time.Millisecond {
			slow++
		}
	}
	t.Logf("during the freeze %d admits and %d new connections reached Redis; %d of %d team-b requests took 100 ms or more (%d of %d with Redis healthy)",
		admits, dials, slow, countKey(frozen, multiKeyB), countSlow(healthy, 100*time.Millisecond), len(healthy))
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

func countSlow(out []rlOutcome, d time.Duration) int {
	n := 0
	for _, o := range out {
		if o.took >= d {
			n++
		}
	}
	return n
}

// redisMonitor records the commands a Redis runs (MONITOR), in the order
// it runs them.
type redisMonitor struct {
	addr  string
	mu    sync.Mutex
	lines []string
}

// monitorRedis starts recording what the Redis at addr runs.
func monitorRedis(t *testing.T, addr string) *redisMonitor {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
		t.Fatalf("MONITOR: %q %v", line, err)
	}
	c.SetDeadline(time.Time{})
	m := &redisMonitor{addr: addr}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m.mu.Lock()
			m.lines = append(m.lines, line)
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return m
}

// upTo returns the commands Redis ran before it ran ECHO marker, which
// upTo sends it.
func (m *redisMonitor) upTo(t *testing.T, marker string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", m.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ECHO " + marker + "\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatalf("ECHO: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		m.mu.Lock()
		for i, line := range m.lines {
			if strings.Contains(line, `"`+marker+`"`) {
				defer m.mu.Unlock()
				return slices.Clone(m.lines[:i])
			}
		}
		m.mu.Unlock()
	}
	t.Fatalf("MONITOR never showed ECHO %s", marker)
	return nil
}

// monitorArg is one quoted argument of a MONITOR line.
var monitorArg = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)

// storeCalls counts among MONITOR lines the script calls (EVALSHA or
// EVAL) whose first key starts with keyPrefix (admit.lua's, whose first
// key is a limit's; the heartbeat's live.lua starts with the registry),
// and the HELLOs that open the client's connections.
func storeCalls(lines []string, keyPrefix string) (admits, dials int) {
	for _, line := range lines {
		args := monitorArg.FindAllStringSubmatch(line, 4)
		switch {
		case len(args) == 0:
		case strings.EqualFold(args[0][1], "hello"):
			dials++
		case len(args) == 4 && (strings.EqualFold(args[0][1], "evalsha") || strings.EqualFold(args[0][1], "eval")) &&
			strings.HasPrefix(args[3][1], keyPrefix):
			admits++
		}
	}
	return admits, dials
}

// TestMultiInstanceRedisStalls: two 0.5 s stalls of Redis (SIGSTOP) in a
// run of three processes under load. No more than the limit is admitted
// in the run (under a minute), stalls or not. (Before: each stall let
// every process fall back to a fresh full bucket. Then, on a loaded
// machine, 3058-3859: the heartbeat handing the debts over fell in the
// second stall, and what the processes decided in memory while it waited
// was not owed to Redis until the next one; see TestDebtsDuringHandOver.
// Then 3133-3433, in up to 6 of 8 runs under load: a process's probe, sent into
// the stall, timed out and ran when Redis thawed, counting it back while it
// still decided on its share; the mark went with the others back, and they
// took from Redis all the limit had left; see
// TestLateHeartbeatDoesNotMarkBack.)
//
// The run goes on until the limit is reached everywhere after the stalls
// (refusedInARow answers in a row refused, every process refusing, counted
// from a second after the stalls, with the outage mark gone from Redis),
// however long a loaded machine takes, within 30 s and
// 20 x the limit in requests after the stalls (a limiter that never
// refuses overshoots by then; 2 x was too few once the gateway got
// faster: 6000 requests took 1.1 s, before the mark's end was counted).
func TestMultiInstanceRedisStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	rp := startRedisProc(t)
	const rpm, refusedInARow = 3000, 30
	rules := fmt.Sprintf("    - {scope: key, match: team-a, rpm: %d}", rpm)
	cfg := strings.Replace(multiConfig(rp.Addr, "ferrytest:", config.FailOpen, rules), "timeout: 1s", "timeout: 100ms", 1)
	procs := startFerries(t, 3, cfg)
	body := `{"model":"fast","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`
	// One request each starts the heartbeats; two beats later each process
	// counts three.
	driveKeys(t, procs, 3, 50*time.Millisecond, []string{multiKeyB}, body, nil)
	time.Sleep(2200 * time.Millisecond)
	var timers []*time.Timer
	stallsOver := make(chan struct{})
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
			if at.d == 1800*time.Millisecond {
				close(stallsOver)
			}
		}))
	}
	rdb := redis.NewClient(&redis.Options{Addr: rp.Addr, ReadTimeout: time.Second})
	defer rdb.Close()
	// reached: the run stopped on refusedInARow refusals in a row, all
	// started once every process had had the time to come back (each
	// probes its failing store every second), with no outage mark in
	// Redis. Not the refusals last counted: the requests still in flight
	// at the stop may be admitted: Redis may find room again once the last
	// process back has handed over debts below its share (a run stopped so
	// admitted 2865, one at 2.7 s after none for 0.6 s).
	after, inARow, reached := 0, 0, false
	var countFrom time.Time
	out := driveWhile(t, procs, 4, 30*time.Second, []string{multiKeyA}, body, nil, func(o rlOutcome) bool {
		select {
		case <-stallsOver:
		default:
			return true
		}
		if countFrom.IsZero() {
			countFrom = time.Now().Add(time.Second)
		}
		if after++; after >= 20*rpm {
			return false
		}
		if o.start.Before(countFrom) {
			return true
		}
		inARow++
		if o.status != http.StatusTooManyRequests {
			inARow = 0
		}
		if inARow < refusedInARow {
			return true
		}
		// While the outage mark stands, the instances back are refused
		// at their part of the limit: not yet the limit itself.
		if rdb.Exists(context.Background(), "ferrytest:rl:back").Val() > 0 {
			inARow = 0
			return true
		}
		reached = true
		return false
	})
	for _, tm := range timers {
		tm.Stop()
	}
	rp.Thaw(t)
	ok, refused := count(t, out)
	t.Logf("%d requests in %v: %d admitted, %d refused; limit %d in any rolling minute",
		len(out), out[len(out)-1].start.Sub(out[0].start).Round(time.Millisecond), ok, refused, rpm)
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
	if !reached {
		t.Errorf("%d requests in %v, and not %d refused in a row after the stalls: the limit was not reached everywhere",
			len(out), out[len(out)-1].start.Sub(out[0].start).Round(time.Millisecond), refusedInARow)
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
