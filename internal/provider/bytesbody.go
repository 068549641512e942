package provider

import "bytes"

// BytesBody is an answer body held whole in memory, for a wrapper that
// reads it whole again (a translation): Bytes gives it back without a
// copy. One allocation.
type BytesBody struct {
	bytes.Reader
	b []byte
}

// NewBytesBody is a body of b.
func NewBytesBody(b []byte) *BytesBody {
	bb := &BytesBody{b: b}
	bb.Reset(b)
	return bb
}

// Close does nothing.
func (*BytesBody) Close() error { return nil }

// Bytes is the whole body, however much of it was read.
func (bb *BytesBody) Bytes() []byte { return bb.b }
