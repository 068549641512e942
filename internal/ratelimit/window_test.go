package ratelimit

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// maxInMinute is the largest sum of amounts at times (unix ms, sorted by
// time) within any rolling 60 s, [a, a+60 s).
func maxInMinute(at []int64, amt []int64) int64 {
	var best, sum int64
	j := 0
	for i := range at {
		sum += amt[i]
		for at[j] <= at[i]-60_000 {
			sum -= amt[j]
			j++
		}
		best = max(best, sum)
	}
	return best
}

// adversary is a schedule of arrivals built to beat a rolling-minute
// limit: long idle gaps, then floods on both sides of where a bucket's
// refill or a fixed window's reset would let them through, mixed with
// random traffic.
func adversary(rng *rand.Rand, steps int) []time.Duration {
	var gaps []time.Duration
	for len(gaps) < steps {
		switch rng.IntN(4) {
		case 0: // idle, then a flood
			gaps = append(gaps, time.Duration(60+rng.IntN(120))*time.Second)
			for range 20 {
				gaps = append(gaps, 0)
			}
		case 1: // the flood again, just under a minute later
			gaps = append(gaps, 59*time.Second+time.Duration(rng.IntN(1000))*time.Millisecond)
			for range 20 {
				gaps = append(gaps, time.Duration(rng.IntN(3))*time.Millisecond)
			}
		default:
			gaps = append(gaps, time.Duration(rng.IntN(4000))*time.Millisecond)
		}
	}
	return gaps[:steps]
}

// instances builds n limiters deciding together: one memory limiter, or n
// sharing Redis, all on clk.
func instances(t *testing.T, backend string, n int, rules []config.RateRule, clk *testkit.Clock) []*Limiter {
	cfg := config.RateLimits{Rules: rules}
	if backend == "memory" {
		return []*Limiter{newTestLimiter(t, cfg, clk, nil, "", nil)}
	}
	c, prefix := testkit.Redis(t)
	var ls []*Limiter
	for range n {
		ls = append(ls, newTestLimiter(t, cfg, clk, c, prefix, nil))
	}
	return ls
}

// TestNoRollingMinuteOverLimit drives the adversary's schedule through
// the limiter (three instances on one Redis, or memory) and checks every
// rolling minute: never more requests than rpm, never more tokens than
// tpm plus one request's reservation. With burst: true (the token bucket,
// before this was the default) the same schedule gets up to twice the
// limit, which the test checks too, so it can fail.
func TestNoRollingMinuteOverLimit(t *testing.T) {
	const rpm, tpm, maxEst = 30, 3000, 400
	for _, backend := range []string{"memory", "redis"} {
		for _, burst := range []bool{false, true} {
			name := backend + "/window"
			if burst {
				name = backend + "/burst"
			}
			t.Run(name, func(t *testing.T) {
				clk := newClock()
				ls := instances(t, backend, 3, []config.RateRule{{Scope: "key", RPM: rpm, TPM: tpm, Burst: burst}}, clk)
				rng := rand.New(rand.NewPCG(7, 9))
				ctx := context.Background()
				var at, one, tokens []int64
				for i, gap := range adversary(rng, 1500) {
					clk.Advance(gap)
					est := 1 + rng.Int64N(maxEst)
					tk, err := ls[i%len(ls)].Admit(ctx, keyA, est)
					if err != nil {
						continue
					}
					// Usage from none to twice the reservation: a debt is
					// at most one reservation.
					actual := rng.Int64N(2*est + 1)
					tk.Settle(ctx, actual)
					now := clk.Now().UnixMilli()
					at, one, tokens = append(at, now), append(one, 1), append(tokens, actual)
				}
				if !slices.IsSorted(at) {
					t.Fatal("times out of order")
				}
				gotR, gotT := maxInMinute(at, one), maxInMinute(at, tokens)
				t.Logf("admitted %d; most in a rolling minute: %d requests (rpm %d), %d tokens (tpm %d)", len(at), gotR, rpm, gotT, tpm)
				if burst {
					if gotR <= rpm || gotT <= tpm*3/2 {
						t.Errorf("burst: %d requests, %d tokens in a rolling minute; the adversary should get more than rpm %d and half as much again as tpm %d from a token bucket", gotR, gotT, rpm, tpm)
					}
					return
				}
				if gotR > rpm {
					t.Errorf("%d requests in a rolling minute, limit %d", gotR, rpm)
				}
				if gotT > tpm+maxEst {
					t.Errorf("%d tokens in a rolling minute, limit %d plus one reservation (%d)", gotT, tpm, maxEst)
				}
				if len(at) < rpm {
					t.Errorf("only %d admitted: the schedule did not reach the limit", len(at))
				}
			})
		}
	}
}

// TestWindowSteadyThroughput checks the price of the slots: a client
// asking every 100 ms gets at least 60/61 of the limit over ten minutes.
func TestWindowSteadyThroughput(t *testing.T) {
	clk := newClock()
	l := newTestLimiter(t, config.RateLimits{Rules: []config.RateRule{{Scope: "key", RPM: 600}}}, clk, nil, "", nil)
	n := 0
	for range 6000 {
		clk.Advance(100 * time.Millisecond)
		if tk, err := l.Admit(context.Background(), keyA, 0); err == nil {
			tk.Settle(context.Background(), 0)
			n++
		}
	}
	if low := 600 * 10 * 60 / 61; n < low || n > 6000 {
		t.Errorf("%d admitted in ten minutes at rpm 600, want %d to 6000", n, low)
	}
}
