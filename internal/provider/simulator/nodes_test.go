package simulator

import (
	"context"
	"testing"
)

// TestNodes: the simulator is one node, "simulator", whose health check
// passes while its context lasts.
func TestNodes(t *testing.T) {
	p, err := New(Options{Name: "sim"})
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Nodes(); len(n) != 1 || n[0] != "simulator" {
		t.Errorf("Nodes = %v", n)
	}
	if err := p.Probe(context.Background(), 0); err != nil {
		t.Errorf("Probe: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Probe(ctx, 0); err == nil {
		t.Error("Probe with an ended context succeeded")
	}
}
