package server

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestStoppable(t *testing.T) {
	s := &Server{idle: make(chan struct{}, 1)}
	s.stopped, s.stopAll = context.WithCancel(context.Background())
	r, _ := http.NewRequest(http.MethodPost, "/v1/messages", nil)

	r1, release := s.stoppable(r)
	release()
	if cutByShutdown(r1) {
		t.Errorf("a released request reads as cut by the shutdown")
	}
	r2, release2 := s.stoppable(r)
	defer release2()
	s.Stop()
	select {
	case <-r2.Context().Done():
	case <-time.After(time.Second):
		t.Fatal("Stop did not end the request's context")
	}
	if !cutByShutdown(r2) || r.Context().Err() != nil {
		t.Errorf("cut by shutdown = %v, the original request's context: %v", cutByShutdown(r2), r.Context().Err())
	}
}

func TestWaitReturnsAtTheLastRequest(t *testing.T) {
	s := &Server{idle: make(chan struct{}, 1)}
	s.started()
	s.started()
	s.Drain()
	done := make(chan error, 1)
	go func() { done <- s.Wait(context.Background()) }()
	s.finished()
	select {
	case <-done:
		t.Fatal("Wait returned with a request in flight")
	case <-time.After(20 * time.Millisecond):
	}
	s.finished()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Wait did not return at the last request's end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.started()
	cancel()
	if err := s.Wait(ctx); err != context.Canceled {
		t.Errorf("Wait with a request in flight and an ended context: %v", err)
	}
}

// BenchmarkStoppable is what a stream pays to be cut with an error event
// at the end of the grace period.
func BenchmarkStoppable(b *testing.B) {
	s := &Server{}
	s.stopped, s.stopAll = context.WithCancel(context.Background())
	r, _ := http.NewRequest(http.MethodPost, "/v1/messages", nil)
	b.ReportAllocs()
	for b.Loop() {
		_, release := s.stoppable(r)
		release()
	}
}

func TestOnIdleAtTheLastRequest(t *testing.T) {
	s := &Server{idle: make(chan struct{}, 1)}
	calls := 0
	s.OnIdle(func() { calls++ })
	s.started()
	s.started()
	if s.InFlight() != 2 {
		t.Fatalf("in flight: %d", s.InFlight())
	}
	s.finished()
	if calls != 0 {
		t.Fatal("OnIdle called with a request in flight")
	}
	s.finished()
	if calls != 1 || s.InFlight() != 0 {
		t.Fatalf("calls %d, in flight %d", calls, s.InFlight())
	}
	s.OnIdle(nil)
	s.started()
	s.finished()
	if calls != 1 {
		t.Error("OnIdle(nil) did not remove the hook")
	}
}
