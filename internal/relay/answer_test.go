package relay

import (
	"io"
	"testing"
)

// Whole gives the unread answer without a copy, and nothing once the body
// was partly read or closed (the bytes would be wrong, or reused).
func TestPooledBodyWhole(t *testing.T) {
	r := &Relay{}
	buf := []byte(`{"type":"message"}`)
	b := &pooledBody{buf: &buf, r: r}
	b.Reader.Reset(buf)
	if got := string(b.Whole()); got != `{"type":"message"}` {
		t.Fatalf("Whole() = %q", got)
	}
	io.ReadFull(b, make([]byte, 3))
	if got := b.Whole(); got != nil {
		t.Errorf("Whole() after a partial read = %q, want nil", got)
	}
	b.Close()
	if got := b.Whole(); got != nil {
		t.Errorf("Whole() after Close = %q, want nil", got)
	}
}
