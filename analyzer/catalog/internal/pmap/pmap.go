// Package pmap is a persistent hash map (a hash array mapped trie): a copy
// of a map is its root pointer, and two copies share every node that
// neither has changed since they parted.
//
// Writes take an *Owner. A node made under an owner is changed in place by
// later writes under the same owner, so a map written by one owner costs
// about what a Go map costs; a node made under another owner is copied
// first (with the path to it). Copying a map therefore costs nothing, on
// one condition: from the copy on, neither side may write with the owner
// used before it. Each side takes a new owner (NewOwner), which turns
// every node both can reach into a shared, read-only one.
package pmap

import (
	"iter"
	"math/bits"
	"slices"
)

// Owner marks the nodes one writer made and may still change in place.
type Owner struct{ _ byte } // not zero-sized: every Owner has its own address

// NewOwner returns an owner no node has yet.
func NewOwner() *Owner { return new(Owner) }

// Key is a map key with a hash; equal keys must hash alike.
type Key interface {
	comparable
	Hash() uint64
}

// Map is a persistent map. The zero value is empty and ready to use.
type Map[K Key, V any] struct {
	root *node[K, V]
	n    int
}

const (
	fanBits = 5
	fanMask = 1<<fanBits - 1
	// Below maxShift the hash picks a slot; past it keys whose 64-bit
	// hashes are equal share a node, searched in turn.
	maxShift = 64
)

type node[K Key, V any] struct {
	owner  *Owner
	bitmap uint32
	slots  []slot[K, V]
}

// slot is a branch (sub != nil) or one entry.
type slot[K Key, V any] struct {
	sub  *node[K, V]
	hash uint64
	key  K
	val  V
}

// Len is the number of entries.
func (m Map[K, V]) Len() int { return m.n }

// Get returns the value of k, the zero value when absent.
func (m Map[K, V]) Get(k K) V {
	v, _ := m.Lookup(k)
	return v
}

// Lookup returns the value of k and whether it is present.
func (m Map[K, V]) Lookup(k K) (V, bool) {
	h := k.Hash()
	n := m.root
	for shift := uint(0); n != nil; shift += fanBits {
		if shift >= maxShift {
			for i := range n.slots {
				if n.slots[i].key == k {
					return n.slots[i].val, true
				}
			}
			break
		}
		bit := uint32(1) << ((h >> shift) & fanMask)
		if n.bitmap&bit == 0 {
			break
		}
		s := &n.slots[bits.OnesCount32(n.bitmap&(bit-1))]
		if s.sub != nil {
			n = s.sub
			continue
		}
		if s.hash == h && s.key == k {
			return s.val, true
		}
		break
	}
	var zero V
	return zero, false
}

// Has reports whether k is present.
func (m Map[K, V]) Has(k K) bool {
	_, ok := m.Lookup(k)
	return ok
}

// Set maps k to v, writing as o.
func (m *Map[K, V]) Set(o *Owner, k K, v V) {
	added := false
	m.root = set(o, m.root, 0, k.Hash(), k, v, &added)
	if added {
		m.n++
	}
}

// Delete removes k, writing as o.
func (m *Map[K, V]) Delete(o *Owner, k K) {
	removed := false
	m.root = del(o, m.root, 0, k.Hash(), k, &removed)
	if removed {
		m.n--
	}
}

// writable returns n itself when o made it, else a copy that o made.
func writable[K Key, V any](o *Owner, n *node[K, V]) *node[K, V] {
	if n.owner == o {
		return n
	}
	return &node[K, V]{owner: o, bitmap: n.bitmap, slots: slices.Clone(n.slots)}
}

func set[K Key, V any](o *Owner, n *node[K, V], shift uint, h uint64, k K, v V, added *bool) *node[K, V] {
	if n == nil {
		n = &node[K, V]{owner: o}
	}
	if shift >= maxShift {
		for i := range n.slots {
			if n.slots[i].key == k {
				n = writable(o, n)
				n.slots[i].val = v
				return n
			}
		}
		n = writable(o, n)
		n.slots = append(n.slots, slot[K, V]{hash: h, key: k, val: v})
		*added = true
		return n
	}
	bit := uint32(1) << ((h >> shift) & fanMask)
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		n = writable(o, n)
		n.slots = slices.Insert(n.slots, i, slot[K, V]{hash: h, key: k, val: v})
		n.bitmap |= bit
		*added = true
		return n
	}
	s := n.slots[i]
	if s.sub != nil {
		sub := set(o, s.sub, shift+fanBits, h, k, v, added)
		if sub != s.sub {
			n = writable(o, n)
			n.slots[i].sub = sub
		}
		return n
	}
	if s.hash == h && s.key == k {
		n = writable(o, n)
		n.slots[i].val = v
		return n
	}
	// Two keys in one slot: push both a level down.
	var ignored bool
	sub := set(o, nil, shift+fanBits, s.hash, s.key, s.val, &ignored)
	sub = set(o, sub, shift+fanBits, h, k, v, added)
	n = writable(o, n)
	n.slots[i] = slot[K, V]{sub: sub}
	return n
}

// del returns the node without k, nil when it is left empty.
func del[K Key, V any](o *Owner, n *node[K, V], shift uint, h uint64, k K, removed *bool) *node[K, V] {
	if n == nil {
		return nil
	}
	if shift >= maxShift {
		for i := range n.slots {
			if n.slots[i].key == k {
				*removed = true
				if len(n.slots) == 1 {
					return nil
				}
				n = writable(o, n)
				n.slots = slices.Delete(n.slots, i, i+1)
				return n
			}
		}
		return n
	}
	bit := uint32(1) << ((h >> shift) & fanMask)
	if n.bitmap&bit == 0 {
		return n
	}
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	s := n.slots[i]
	if s.sub != nil {
		sub := del(o, s.sub, shift+fanBits, h, k, removed)
		if sub == s.sub {
			return n
		}
		if sub == nil {
			return dropSlot(o, n, i, bit)
		}
		n = writable(o, n)
		n.slots[i].sub = sub
		return n
	}
	if s.hash != h || s.key != k {
		return n
	}
	*removed = true
	return dropSlot(o, n, i, bit)
}

func dropSlot[K Key, V any](o *Owner, n *node[K, V], i int, bit uint32) *node[K, V] {
	if len(n.slots) == 1 {
		return nil
	}
	n = writable(o, n)
	n.slots = slices.Delete(n.slots, i, i+1)
	n.bitmap &^= bit
	return n
}

// All yields every entry, in no particular order.
func (m Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		walk(m.root, yield)
	}
}

func walk[K Key, V any](n *node[K, V], yield func(K, V) bool) bool {
	if n == nil {
		return true
	}
	for i := range n.slots {
		s := &n.slots[i]
		if s.sub != nil {
			if !walk(s.sub, yield) {
				return false
			}
		} else if !yield(s.key, s.val) {
			return false
		}
	}
	return true
}

// Diff calls f for every key whose entry may differ between a and b: with
// the value in each and whether it is there. Entries in subtrees that a and
// b share are not visited, so the cost follows what changed between two
// versions of one map, not their size. A key present in both may be
// reported with equal values (a subtree rebuilt without a change).
func Diff[K Key, V any](a, b Map[K, V], f func(k K, av V, inA bool, bv V, inB bool)) {
	diff(a.root, b.root, 0, f)
}

func diff[K Key, V any](a, b *node[K, V], shift uint, f func(K, V, bool, V, bool)) {
	var zero V
	switch {
	case a == b:
		return
	case a == nil:
		walk(b, func(k K, v V) bool { f(k, zero, false, v, true); return true })
		return
	case b == nil:
		walk(a, func(k K, v V) bool { f(k, v, true, zero, false); return true })
		return
	}
	if shift >= maxShift {
		for _, s := range a.slots {
			bv, ok := lookupIn(b, s.key)
			f(s.key, s.val, true, bv, ok)
		}
		for _, s := range b.slots {
			if _, ok := lookupIn(a, s.key); !ok {
				f(s.key, zero, false, s.val, true)
			}
		}
		return
	}
	for all := a.bitmap | b.bitmap; all != 0; all &= all - 1 {
		bit := all & -all
		var sa, sb *slot[K, V]
		if a.bitmap&bit != 0 {
			sa = &a.slots[bits.OnesCount32(a.bitmap&(bit-1))]
		}
		if b.bitmap&bit != 0 {
			sb = &b.slots[bits.OnesCount32(b.bitmap&(bit-1))]
		}
		if sa != nil && sb != nil && sa.sub == nil && sb.sub == nil {
			if sa.hash == sb.hash && sa.key == sb.key {
				f(sa.key, sa.val, true, sb.val, true)
			} else {
				f(sa.key, sa.val, true, zero, false)
				f(sb.key, zero, false, sb.val, true)
			}
			continue
		}
		diff(asNode(sa, shift), asNode(sb, shift), shift+fanBits, f)
	}
}

// asNode is the subtree in slot s, a leaf made into a one-entry node.
func asNode[K Key, V any](s *slot[K, V], shift uint) *node[K, V] {
	switch {
	case s == nil:
		return nil
	case s.sub != nil:
		return s.sub
	}
	var ignored bool
	return set(nil, nil, shift+fanBits, s.hash, s.key, s.val, &ignored)
}

func lookupIn[K Key, V any](n *node[K, V], k K) (V, bool) {
	for _, s := range n.slots {
		if s.key == k {
			return s.val, true
		}
	}
	var zero V
	return zero, false
}
