package provider

import "bytes"

// WholeBody is an answer body held whole (the relay reads a whole answer
// to check it; a translation's is in memory): Whole is its bytes, unread,
// valid until the body is closed, or nil when it was closed or partly
// read. The server writes them without a copy of its own, and relies on
// them being valid JSON: the relay hands over no other.
type WholeBody interface {
	Whole() []byte
}

// BytesBody is an answer body held whole in memory, for a wrapper that
// reads it whole again (a translation): Bytes gives it back without a
// copy. One allocation.
type BytesBody struct {
	bytes.Reader
	b       []byte
	written bool
}

var _ WholeBody = (*BytesBody)(nil)

// NewBytesBody is a body of b.
func NewBytesBody(b []byte) *BytesBody {
	bb := &BytesBody{}
	bb.Set(b)
	return bb
}

// Set makes the body b, unread: a translation's answer takes the place of
// the answer it was made of.
func (bb *BytesBody) Set(b []byte) {
	bb.b, bb.written = b, false
	bb.Reset(b)
}

// SetWritten is Set for JSON the gateway wrote itself (a translation's
// answer, valid by construction): the relay does not check it again.
func (bb *BytesBody) SetWritten(b []byte) {
	bb.Set(b)
	bb.written = true
}

// Written reports whether the body was made by SetWritten.
func (bb *BytesBody) Written() bool { return bb.written }

// Whole is the body's bytes while none was read (WholeBody).
func (bb *BytesBody) Whole() []byte {
	if int64(bb.Len()) != bb.Size() {
		return nil
	}
	return bb.b
}

// Close does nothing.
func (*BytesBody) Close() error { return nil }

// Bytes is the whole body, however much of it was read.
func (bb *BytesBody) Bytes() []byte { return bb.b }
