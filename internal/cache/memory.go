package cache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Memory is an in-process Store: least-recently-used eviction within a
// byte budget, and a time to live per entry.
//
// It is written here rather than taken from a library because the common
// LRU libraries bound the number of entries, and answers range from a few
// hundred bytes to megabytes: only a byte budget bounds the memory.
type Memory struct {
	mu    sync.Mutex
	max   int64 // byte budget
	used  int64
	order list.List // of *memEntry, most recently used first
	items map[string]*list.Element
	now   func() time.Time
}

type memEntry struct {
	key     string
	val     []byte
	expires int64 // Unix nanoseconds
}

// memOverhead is what an entry costs besides its key and value: the map
// slot, the list element and the memEntry, rounded up.
const memOverhead = 128

// NewMemory returns a Memory holding at most maxBytes (keys, values and
// per-entry overhead). now is the clock (nil: time.Now).
func NewMemory(maxBytes int64, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{max: maxBytes, items: make(map[string]*list.Element), now: now}
	m.order.Init()
	return m
}

func size(key string, val []byte) int64 { return int64(len(key)+len(val)) + memOverhead }

// Get returns the value under key and marks it recently used.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	el := m.live(key, now)
	if el == nil {
		return nil, ErrNotFound
	}
	m.order.MoveToFront(el)
	return el.Value.(*memEntry).val, nil
}

// Set stores val under key for ttl, evicting the least recently used
// entries to stay within the budget. A value larger than the whole budget
// is not stored.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(key, val, ttl)
	return nil
}

// SetNX stores val unless key holds a live value.
func (m *Memory) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live(key, m.now().UnixNano()) != nil {
		return false, nil
	}
	return m.set(key, val, ttl), nil
}

// Del removes key.
func (m *Memory) Del(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	return nil
}

// Swap replaces (or, with val nil, removes) key's value if it is old.
func (m *Memory) Swap(_ context.Context, key string, old, val []byte, ttl time.Duration) (bool, error) {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	el := m.live(key, now)
	if el == nil || string(el.Value.(*memEntry).val) != string(old) {
		return false, nil
	}
	if val == nil {
		m.remove(el)
		return true, nil
	}
	return m.set(key, val, ttl), nil
}

// Len and Bytes report the entries held and the bytes they count for.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Bytes reports the bytes counted against the budget.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used
}

// SetMaxBytes changes the byte budget (a hot reload of cache.max_bytes),
// evicting the least recently used entries beyond a smaller one.
func (m *Memory) SetMaxBytes(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.max = n
	for m.used > m.max && m.order.Len() > 0 {
		m.remove(m.order.Back())
	}
}

func (m *Memory) set(key string, val []byte, ttl time.Duration) bool {
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	sz := size(key, val)
	if sz > m.max || ttl <= 0 {
		return false
	}
	for m.used+sz > m.max {
		m.remove(m.order.Back())
	}
	e := &memEntry{key: key, val: val, expires: m.now().Add(ttl).UnixNano()}
	m.items[key] = m.order.PushFront(e)
	m.used += sz
	return true
}

// live returns key's element if it holds a value unexpired at now (unix
// nanoseconds); an expired one is removed. m.mu is held.
func (m *Memory) live(key string, now int64) *list.Element {
	el, ok := m.items[key]
	if !ok {
		return nil
	}
	if now >= el.Value.(*memEntry).expires {
		m.remove(el)
		return nil
	}
	return el
}

func (m *Memory) remove(el *list.Element) {
	e := m.order.Remove(el).(*memEntry)
	delete(m.items, e.key)
	m.used -= size(e.key, e.val)
}
