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

// node holds, for each slot its hash picks at this level, either one
// entry (dataMap) or a branch (nodeMap), in two arrays ordered by slot: a
// branch costs a pointer, not an entry's room, so that copying a node on
// a path, which a write after a copy does, copies only what the node
// holds itself. Past maxShift a node holds the colliding entries alone.
//
// A copy takes a fresh array only for the one of the two it changes, and
// shares the other with the node it copies (sharedEntries, sharedSubs):
// that node's owner writes no more (see Owner), and the copy's takes a
// fresh array before it changes a shared one, appending included.
type node[K Key, V any] struct {
	owner         *Owner
	dataMap       uint32
	nodeMap       uint32
	sharedEntries bool
	sharedSubs    bool
	entries       []entry[K, V]
	subs          []*node[K, V]
}

type entry[K Key, V any] struct {
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
			for i := range n.entries {
				if n.entries[i].key == k {
					return n.entries[i].val, true
				}
			}
			break
		}
		bit := uint32(1) << ((h >> shift) & fanMask)
		if n.dataMap&bit != 0 {
			e := &n.entries[bits.OnesCount32(n.dataMap&(bit-1))]
			if e.hash == h && e.key == k {
				return e.val, true
			}
			break
		}
		if n.nodeMap&bit == 0 {
			break
		}
		n = n.subs[bits.OnesCount32(n.nodeMap&(bit-1))]
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

// own returns n itself when o made it, else a copy that o made, which
// shares both arrays with n until it changes one.
func own[K Key, V any](o *Owner, n *node[K, V]) *node[K, V] {
	if n.owner == o {
		return n
	}
	return &node[K, V]{owner: o, dataMap: n.dataMap, nodeMap: n.nodeMap, sharedEntries: true, sharedSubs: true, entries: n.entries, subs: n.subs}
}

// withEntry returns the node of o for n with entries[i] set to e.
func withEntry[K Key, V any](o *Owner, n *node[K, V], i int, e entry[K, V]) *node[K, V] {
	n = own(o, n)
	if n.sharedEntries {
		n.entries, n.sharedEntries = slices.Clone(n.entries), false
	}
	n.entries[i] = e
	return n
}

// withSub returns the node of o for n with subs[j] set to sub.
func withSub[K Key, V any](o *Owner, n *node[K, V], j int, sub *node[K, V]) *node[K, V] {
	n = own(o, n)
	if n.sharedSubs {
		n.subs, n.sharedSubs = slices.Clone(n.subs), false
	}
	n.subs[j] = sub
	return n
}

// withEntries returns the node of o for n with e inserted at entries[i]
// (del >= 0: with entries[del] removed instead). A fresh array is made
// at its final size, not copied and then grown.
func withEntries[K Key, V any](o *Owner, n *node[K, V], i int, e entry[K, V], del int) *node[K, V] {
	n = own(o, n)
	if !n.sharedEntries {
		if del >= 0 {
			n.entries = slices.Delete(n.entries, del, del+1)
		} else {
			n.entries = slices.Insert(n.entries, i, e)
		}
		return n
	}
	old := n.entries
	n.entries, n.sharedEntries = nil, false
	if del >= 0 {
		if len(old) > 1 {
			n.entries = make([]entry[K, V], 0, len(old)-1)
			n.entries = append(append(n.entries, old[:del]...), old[del+1:]...)
		}
	} else {
		n.entries = make([]entry[K, V], 0, len(old)+1)
		n.entries = append(append(append(n.entries, old[:i]...), e), old[i:]...)
	}
	return n
}

// withSubs is withEntries for the branches: sub inserted at subs[i], or
// subs[del] removed.
func withSubs[K Key, V any](o *Owner, n *node[K, V], i int, sub *node[K, V], del int) *node[K, V] {
	n = own(o, n)
	if !n.sharedSubs {
		if del >= 0 {
			n.subs = slices.Delete(n.subs, del, del+1)
		} else {
			n.subs = slices.Insert(n.subs, i, sub)
		}
		return n
	}
	old := n.subs
	n.subs, n.sharedSubs = nil, false
	if del >= 0 {
		if len(old) > 1 {
			n.subs = make([]*node[K, V], 0, len(old)-1)
			n.subs = append(append(n.subs, old[:del]...), old[del+1:]...)
		}
	} else {
		n.subs = make([]*node[K, V], 0, len(old)+1)
		n.subs = append(append(append(n.subs, old[:i]...), sub), old[i:]...)
	}
	return n
}

func set[K Key, V any](o *Owner, n *node[K, V], shift uint, h uint64, k K, v V, added *bool) *node[K, V] {
	if n == nil {
		n = &node[K, V]{owner: o}
	}
	if shift >= maxShift {
		for i := range n.entries {
			if n.entries[i].key == k {
				return withEntry(o, n, i, entry[K, V]{hash: h, key: k, val: v})
			}
		}
		*added = true
		return withEntries(o, n, len(n.entries), entry[K, V]{hash: h, key: k, val: v}, -1)
	}
	bit := uint32(1) << ((h >> shift) & fanMask)
	if n.nodeMap&bit != 0 {
		j := bits.OnesCount32(n.nodeMap & (bit - 1))
		old := n.subs[j]
		if sub := set(o, old, shift+fanBits, h, k, v, added); sub != old {
			return withSub(o, n, j, sub)
		}
		return n
	}
	i := bits.OnesCount32(n.dataMap & (bit - 1))
	if n.dataMap&bit == 0 {
		n = withEntries(o, n, i, entry[K, V]{hash: h, key: k, val: v}, -1)
		n.dataMap |= bit
		*added = true
		return n
	}
	if e := n.entries[i]; e.hash == h && e.key == k {
		return withEntry(o, n, i, entry[K, V]{hash: h, key: k, val: v})
	}
	// Two keys in one slot: push both a level down.
	e := n.entries[i]
	var ignored bool
	sub := set(o, nil, shift+fanBits, e.hash, e.key, e.val, &ignored)
	sub = set(o, sub, shift+fanBits, h, k, v, added)
	n = withEntries(o, n, 0, entry[K, V]{}, i)
	n.dataMap &^= bit
	n = withSubs(o, n, bits.OnesCount32(n.nodeMap&(bit-1)), sub, -1)
	n.nodeMap |= bit
	return n
}

// del returns the node without k, nil when it is left empty.
func del[K Key, V any](o *Owner, n *node[K, V], shift uint, h uint64, k K, removed *bool) *node[K, V] {
	if n == nil {
		return nil
	}
	if shift >= maxShift {
		for i := range n.entries {
			if n.entries[i].key == k {
				*removed = true
				if len(n.entries) == 1 {
					return nil
				}
				return withEntries(o, n, 0, entry[K, V]{}, i)
			}
		}
		return n
	}
	bit := uint32(1) << ((h >> shift) & fanMask)
	if n.nodeMap&bit != 0 {
		j := bits.OnesCount32(n.nodeMap & (bit - 1))
		old := n.subs[j]
		sub := del(o, old, shift+fanBits, h, k, removed)
		switch {
		case sub == old:
			return n
		case sub != nil:
			return withSub(o, n, j, sub)
		case len(n.entries)+len(n.subs) == 1:
			return nil
		}
		n = withSubs(o, n, 0, nil, j)
		n.nodeMap &^= bit
		return n
	}
	if n.dataMap&bit == 0 {
		return n
	}
	i := bits.OnesCount32(n.dataMap & (bit - 1))
	if e := &n.entries[i]; e.hash != h || e.key != k {
		return n
	}
	*removed = true
	if len(n.entries)+len(n.subs) == 1 {
		return nil
	}
	n = withEntries(o, n, 0, entry[K, V]{}, i)
	n.dataMap &^= bit
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
	for i := range n.entries {
		if !yield(n.entries[i].key, n.entries[i].val) {
			return false
		}
	}
	for _, sub := range n.subs {
		if !walk(sub, yield) {
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
		for _, e := range a.entries {
			bv, ok := lookupIn(b, e.key)
			f(e.key, e.val, true, bv, ok)
		}
		for _, e := range b.entries {
			if _, ok := lookupIn(a, e.key); !ok {
				f(e.key, zero, false, e.val, true)
			}
		}
		return
	}
	for all := a.dataMap | a.nodeMap | b.dataMap | b.nodeMap; all != 0; all &= all - 1 {
		bit := all & -all
		var ea, eb *entry[K, V]
		var sa, sb *node[K, V]
		if a.dataMap&bit != 0 {
			ea = &a.entries[bits.OnesCount32(a.dataMap&(bit-1))]
		} else if a.nodeMap&bit != 0 {
			sa = a.subs[bits.OnesCount32(a.nodeMap&(bit-1))]
		}
		if b.dataMap&bit != 0 {
			eb = &b.entries[bits.OnesCount32(b.dataMap&(bit-1))]
		} else if b.nodeMap&bit != 0 {
			sb = b.subs[bits.OnesCount32(b.nodeMap&(bit-1))]
		}
		if ea != nil && eb != nil {
			if ea.hash == eb.hash && ea.key == eb.key {
				f(ea.key, ea.val, true, eb.val, true)
			} else {
				f(ea.key, ea.val, true, zero, false)
				f(eb.key, zero, false, eb.val, true)
			}
			continue
		}
		if ea != nil {
			sa = asNode(ea, shift)
		}
		if eb != nil {
			sb = asNode(eb, shift)
		}
		diff(sa, sb, shift+fanBits, f)
	}
}

// asNode is entry e made into a one-entry node of the next level.
func asNode[K Key, V any](e *entry[K, V], shift uint) *node[K, V] {
	var ignored bool
	return set(nil, nil, shift+fanBits, e.hash, e.key, e.val, &ignored)
}

func lookupIn[K Key, V any](n *node[K, V], k K) (V, bool) {
	for _, e := range n.entries {
		if e.key == k {
			return e.val, true
		}
	}
	var zero V
	return zero, false
}
