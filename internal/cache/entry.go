package cache

import (
	"encoding/binary"
	"errors"
	"time"
)

// Entry is a stored answer: the final Anthropic message of a successful
// (status 200) response, whether it arrived whole or as a stream.
type Entry struct {
	Created     time.Time // when the answer was stored
	ContentType string    // of Body, e.g. application/json
	Body        []byte    // the message JSON
}

// Entry encoding, version 1:
//
//	0     version (1)
//	1:9   Created, Unix milliseconds, big endian
//	9     len(ContentType), at most 255
//	10:   ContentType; len(scope), 2 bytes big endian; scope; Body
//
// The scope is kept to be compared on lookup: the key's hash is fast, not
// cryptographic, so a request crafted to collide with another's must at
// least come from the same scope to be answered with its answer.
const (
	entryVersion = 1
	entryHead    = 10
)

var errBadEntry = errors.New("cache: malformed entry")

// appendEntry appends e's encoding to dst.
func appendEntry(dst []byte, e *Entry, scope string) []byte {
	ct := e.ContentType
	if len(ct) > 255 {
		ct = ct[:255]
	}
	if len(scope) > 0xffff {
		scope = scope[:0xffff]
	}
	dst = append(dst, entryVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Created.UnixMilli()))
	dst = append(dst, byte(len(ct)))
	dst = append(dst, ct...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(scope)))
	dst = append(dst, scope...)
	return append(dst, e.Body...)
}

func entrySize(e *Entry, scope string) int {
	return entryHead + len(e.ContentType) + 2 + len(scope) + len(e.Body)
}

// decodeEntry decodes b; Body and scope alias b.
func decodeEntry(b []byte) (e Entry, scope []byte, err error) {
	if len(b) < entryHead || b[0] != entryVersion {
		return Entry{}, nil, errBadEntry
	}
	e.Created = time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9])))
	n := int(b[9])
	if len(b) < entryHead+n+2 {
		return Entry{}, nil, errBadEntry
	}
	e.ContentType = contentType(b[entryHead : entryHead+n])
	b = b[entryHead+n:]
	m := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+m {
		return Entry{}, nil, errBadEntry
	}
	return Entry{Created: e.Created, ContentType: e.ContentType, Body: b[2+m:]}, b[2 : 2+m], nil
}

// contentType avoids an allocation for the usual value.
func contentType(b []byte) string {
	if string(b) == "application/json" {
		return "application/json"
	}
	return string(b)
}
