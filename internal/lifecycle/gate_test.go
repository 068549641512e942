package lifecycle

import (
	"sync"
	"testing"
)

func TestGateStartsAndClosesOnce(t *testing.T) {
	var g Gate
	starts, stops := 0, 0
	var sawStarted bool
	g.Start(func() { starts++ })
	g.Start(func() { starts++ })
	if !g.Enter() {
		t.Fatal("Enter before Close = false")
	}
	g.Leave()
	g.Close(func(started bool) { stops++; sawStarted = started })
	g.Close(func(bool) { stops++ })
	g.Start(func() { starts++ })
	if starts != 1 || stops != 1 || !sawStarted {
		t.Fatalf("starts %d, stops %d, started %v; want 1, 1, true", starts, stops, sawStarted)
	}
	if g.Enter() {
		t.Fatal("Enter after Close = true")
	}
}

func TestGateCloseWithoutStart(t *testing.T) {
	var g Gate
	started := true
	g.Close(func(s bool) { started = s })
	ran := false
	g.Start(func() { ran = true })
	if started || ran {
		t.Fatalf("Close saw started %v, Start after Close ran %v; want false, false", started, ran)
	}
}

// TestGateSendsNeverRaceClose sends on a channel that Close closes: with
// the gate, no send can hit the closed channel (that would panic).
func TestGateSendsNeverRaceClose(t *testing.T) {
	var g Gate
	q := make(chan int, 1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if !g.Enter() {
					return
				}
				select {
				case q <- i:
				default:
				}
				g.Leave()
			}
		}()
	}
	go func() {
		for range q {
		}
	}()
	g.Close(func(bool) { close(q) })
	wg.Wait()
}

func TestOffer(t *testing.T) {
	var g Gate
	q := make(chan int, 1)
	if got := Offer(&g, q, 1); got != Sent {
		t.Fatalf("Offer to an empty queue = %v, want Sent", got)
	}
	if got := Offer(&g, q, 2); got != Full {
		t.Fatalf("Offer to a full queue = %v, want Full", got)
	}
	g.Close(func(bool) { close(q) })
	if got := Offer(&g, q, 3); got != Closed {
		t.Fatalf("Offer after Close = %v, want Closed", got)
	}
	if v, ok := <-q; v != 1 || !ok {
		t.Fatalf("queue held %d, %v; want 1, true", v, ok)
	}
}
