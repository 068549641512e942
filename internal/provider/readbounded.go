package provider

import (
	"errors"
	"io"
)

// ErrTooLarge is a body that went over the limit it was read under.
var ErrTooLarge = errors.New("body over its size limit")

// boundedChunk is the largest block ReadBounded allocates at once: what a
// body may cost beyond its limit before it is found to be over it.
const boundedChunk = 1 << 20

// ReadBounded reads r to its end and returns its bytes and how many it
// read. Memory is spent only as bytes arrive, never on a size a peer
// declared: buf's spare capacity is used first (a caller that trusts a
// declared length a little sizes buf by it), then blocks that double up
// to 1 MiB. A body of more than limit bytes is ErrTooLarge, found having
// held at most limit bytes plus one block; the blocks of a body that
// fits are joined into one slice of its exact size (buf's own array when
// the body fits in it, so a pooled buffer is reused).
func ReadBounded(r io.Reader, buf []byte, limit int64) ([]byte, int64, error) {
	cur := buf[:0]
	var (
		full [][]byte // filled blocks, in order
		held int64    // bytes in full
		size = cap(buf)
	)
	for {
		if len(cur) == cap(cur) {
			if len(cur) > 0 {
				full = append(full, cur)
				held += int64(len(cur))
			}
			size = min(max(2*size, 4<<10), boundedChunk)
			// One byte past the limit tells "over" from "at" it.
			cur = make([]byte, 0, min(int64(size), limit+1-held))
		}
		n, err := r.Read(cur[len(cur):cap(cur)])
		cur = cur[:len(cur)+n]
		total := held + int64(len(cur))
		if total > limit {
			return nil, total, ErrTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, total, err
		}
	}
	switch {
	case len(full) == 0:
		return cur, int64(len(cur)), nil
	case len(full) == 1 && len(cur) == 0: // the first block was exactly full
		return full[0], held, nil
	}
	out := make([]byte, 0, held+int64(len(cur)))
	for _, b := range full {
		out = append(out, b...)
	}
	out = append(out, cur...)
	return out, int64(len(out)), nil
}
