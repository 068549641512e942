package upstream

import (
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/testkit"
)

func TestMarks(t *testing.T) {
	clk := testkit.NewClock()
	p := mustPool(t, PoolOptions{Labels: labels(3), Now: clk.Now, NodeDown: 10 * time.Second})
	if got := p.Marked(); got != 0 {
		t.Fatalf("fresh pool: Marked() = %b, want none", got)
	}
	p.MarkDown(1)
	if got, want := p.Marked(), uint64(0b010); got != want {
		t.Fatalf("after MarkDown(1): Marked() = %b, want %b", got, want)
	}
	p.CoolDown(2, time.Hour) // bounded by MaxCoolDown
	p.CoolDown(1, time.Second)
	if got, want := p.Marked(), uint64(0b110); got != want {
		t.Fatalf("after CoolDown(2): Marked() = %b, want %b", got, want)
	}
	clk.Advance(10 * time.Second) // node_down passed; a shorter cool-down did not shorten it
	if got, want := p.Marked(), uint64(0b100); got != want {
		t.Fatalf("after node_down: Marked() = %b, want %b", got, want)
	}
	p.MarkDown(0)
	p.MarkUp(0) // it answered
	if got, want := p.Marked(), uint64(0b100); got != want {
		t.Fatalf("after MarkUp(0): Marked() = %b, want %b", got, want)
	}
	clk.Advance(MaxCoolDown - 10*time.Second)
	if got := p.Marked(); got != 0 {
		t.Fatalf("after MaxCoolDown: Marked() = %b, want none", got)
	}
	p.MarkDown(7) // out of range: ignored
	p.CoolDown(-1, time.Second)
	if got := p.Marked(); got != 0 {
		t.Fatalf("out-of-range marks: Marked() = %b, want none", got)
	}
}

func TestMarkDownOff(t *testing.T) {
	p := mustPool(t, PoolOptions{Labels: labels(2), Now: testkit.NewClock().Now})
	p.MarkDown(0)
	if got := p.Marked(); got != 0 {
		t.Fatalf("node_down 0: Marked() = %b, want none", got)
	}
}
