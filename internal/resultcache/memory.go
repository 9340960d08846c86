package resultcache

import (
	"container/list"
	"sync"
)

// DefaultMemoryBytes bounds the App's in-memory cache.
const DefaultMemoryBytes = 64 << 20

// Memory is a cache in memory bounded in bytes, evicting the entries used
// least recently; safe for concurrent use. The App keeps one for its
// lifetime: pull requests on the same base commit replay the same history.
type Memory struct {
	mu       sync.Mutex
	maxBytes int
	size     int
	order    *list.List // front: most recently used
	entries  map[string]*list.Element
}

type memEntry struct {
	key   string
	value []byte
}

// NewMemory returns a cache of at most maxBytes of values (<= 0: the
// default).
func NewMemory(maxBytes int) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultMemoryBytes
	}
	return &Memory{maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

// Get returns the value for key. The slice is shared: callers only read it.
func (m *Memory) Get(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	m.order.MoveToFront(el)
	return el.Value.(*memEntry).value, true
}

// Put stores a copy of value; a value larger than the bound is not kept.
func (m *Memory) Put(key string, value []byte) {
	size := len(key) + len(value)
	if size > m.maxBytes {
		return
	}
	v := append([]byte(nil), value...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		old := el.Value.(*memEntry)
		m.size -= len(old.key) + len(old.value)
		old.value = v
		m.size += size
		m.order.MoveToFront(el)
	} else {
		m.entries[key] = m.order.PushFront(&memEntry{key, v})
		m.size += size
	}
	for m.size > m.maxBytes {
		el := m.order.Back()
		e := el.Value.(*memEntry)
		m.order.Remove(el)
		delete(m.entries, e.key)
		m.size -= len(e.key) + len(e.value)
	}
}

// Len is the number of entries held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
