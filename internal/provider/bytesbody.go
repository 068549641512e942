package provider

import "bytes"

// WholeBody is an answer body the relay read whole (to check it): Whole is
// its bytes, unread, valid until the body is closed, or nil when it was
// closed or partly read. The server writes them without a copy of its
// own.
type WholeBody interface {
	Whole() []byte
}

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
