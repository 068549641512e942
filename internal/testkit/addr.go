package testkit

import (
	"net"
	"testing"
)

// ClosedAddr is a loopback host:port nothing listens on: a listener was
// opened on it and closed, so connecting is refused at once.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
