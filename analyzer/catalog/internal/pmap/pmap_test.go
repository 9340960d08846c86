package pmap

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// key hashes with a chosen number of bits, so that the tests reach deep
// levels and keys whose whole hashes collide.
type key struct {
	id   int
	mask uint64
}

func (k key) Hash() uint64 {
	h := uint64(k.id) * 0x9E3779B97F4A7C15
	return h & k.mask
}

type version struct {
	m     Map[key, int]
	model map[key]int
	owner *Owner
}

func (v *version) fork() *version {
	model := make(map[key]int, len(v.model))
	for k, x := range v.model {
		model[k] = x
	}
	// Both sides take new owners: the nodes they share become read-only.
	v.owner = NewOwner()
	return &version{m: v.m, model: model, owner: NewOwner()}
}

func check(t *testing.T, v *version, what string) {
	t.Helper()
	if v.m.Len() != len(v.model) {
		t.Fatalf("%s: Len %d, want %d", what, v.m.Len(), len(v.model))
	}
	seen := 0
	for k, x := range v.m.All() {
		seen++
		if want, ok := v.model[k]; !ok || want != x {
			t.Fatalf("%s: All yields %v=%d, model has %d (%v)", what, k, x, want, ok)
		}
	}
	if seen != len(v.model) {
		t.Fatalf("%s: All yields %d entries, want %d", what, seen, len(v.model))
	}
	for k, want := range v.model {
		if got, ok := v.m.Lookup(k); !ok || got != want {
			t.Fatalf("%s: Lookup(%v) = %d, %v; want %d", what, k, got, ok, want)
		}
	}
}

// TestMapAgainstModel applies random writes to several versions of a map
// that fork from one another and checks each against a Go map after every
// step: a write to one version never shows in another. With refork, forks
// go on all along (a new one replaces a version), so that nodes are
// copied from copies whose arrays they still share with others.
func TestMapAgainstModel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mask   uint64
		keys   int
		refork bool
	}{
		{"full hash", ^uint64(0), 400, false},
		{"16-bit hash", 0xFFFF, 2000, false},
		{"colliding hashes", 0x7 << 61, 300, false},
		{"full hash, forks all along", ^uint64(0), 400, true},
		{"8-bit hash, forks all along", 0xFF, 1000, true},
		{"colliding hashes, forks all along", 0x3 << 62, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.keys)))
			versions := []*version{{model: map[key]int{}, owner: NewOwner()}}
			for step := 0; step < 20000; step++ {
				v := versions[rng.IntN(len(versions))]
				k := key{id: rng.IntN(tc.keys), mask: tc.mask}
				switch r := rng.IntN(100); {
				case r < 55:
					v.m.Set(v.owner, k, step)
					v.model[k] = step
				case r < 90:
					v.m.Delete(v.owner, k)
					delete(v.model, k)
				case r < 92 && len(versions) < 8:
					versions = append(versions, v.fork())
				case r < 92 && tc.refork:
					versions[rng.IntN(len(versions))] = v.fork()
				default:
					if got, ok := v.m.Lookup(k); got != v.model[k] || ok != (v.model[k] != 0 || hasKey(v.model, k)) {
						t.Fatalf("step %d: Lookup(%v) = %d, %v", step, k, got, ok)
					}
				}
				if step%500 == 0 {
					for i, w := range versions {
						check(t, w, fmt.Sprintf("step %d version %d", step, i))
					}
				}
			}
			for i, w := range versions {
				check(t, w, fmt.Sprintf("end version %d", i))
			}
		})
	}
}

func hasKey(m map[key]int, k key) bool {
	_, ok := m[k]
	return ok
}

// TestDiff checks that Diff reports every key whose entry differs between
// two versions, and only keys on the paths that changed.
func TestDiff(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 0xFF, 0x3 << 62} {
		rng := rand.New(rand.NewPCG(2, mask))
		base := &version{model: map[key]int{}, owner: NewOwner()}
		for i := 0; i < 3000; i++ {
			k := key{id: i, mask: mask}
			base.m.Set(base.owner, k, i)
			base.model[k] = i
		}
		for round := 0; round < 30; round++ {
			other := base.fork()
			changes := rng.IntN(6)
			for i := 0; i < changes; i++ {
				k := key{id: rng.IntN(3200), mask: mask}
				if rng.IntN(2) == 0 {
					other.m.Set(other.owner, k, -i-1)
					other.model[k] = -i - 1
				} else {
					other.m.Delete(other.owner, k)
					delete(other.model, k)
				}
			}
			reported := map[key]bool{}
			calls := 0
			Diff(base.m, other.m, func(k key, av int, inA bool, bv int, inB bool) {
				calls++
				reported[k] = true
				if wa, ok := base.model[k]; ok != inA || wa != av {
					t.Fatalf("Diff reports %v in a as %d, %v; model %d, %v", k, av, inA, wa, ok)
				}
				if wb, ok := other.model[k]; ok != inB || wb != bv {
					t.Fatalf("Diff reports %v in b as %d, %v; model %d, %v", k, bv, inB, wb, ok)
				}
			})
			for k, x := range base.model {
				if y, ok := other.model[k]; (!ok || x != y) && !reported[k] {
					t.Fatalf("mask %x round %d: %v changed and was not reported", mask, round, k)
				}
			}
			for k := range other.model {
				if _, ok := base.model[k]; !ok && !reported[k] {
					t.Fatalf("mask %x round %d: %v added and was not reported", mask, round, k)
				}
			}
			// Unchanged subtrees are skipped: with a full hash, a change
			// touches one path of at most a few nodes of 32 slots.
			if mask == ^uint64(0) && calls > 32*4*(changes+1) {
				t.Fatalf("Diff visited %d entries for %d changes", calls, changes)
			}
			if changes == 0 && calls != 0 {
				t.Fatalf("Diff of a copy visited %d entries", calls)
			}
			base = other
		}
	}
}

// TestOwnerWritesInPlace checks that writes under one owner reuse its
// nodes (a replay costs about what a Go map costs) and that a fork copies
// only the path it writes.
func TestOwnerWritesInPlace(t *testing.T) {
	o := NewOwner()
	var m Map[key, int]
	for i := 0; i < 5000; i++ {
		m.Set(o, key{id: i, mask: ^uint64(0)}, i)
	}
	allocs := testing.AllocsPerRun(100, func() {
		m.Set(o, key{id: 17, mask: ^uint64(0)}, 1)
	})
	if allocs != 0 {
		t.Fatalf("overwriting under the same owner allocates %v times", allocs)
	}
	shared := m
	allocs = testing.AllocsPerRun(10, func() {
		fork := shared
		fork.Set(NewOwner(), key{id: 18, mask: ^uint64(0)}, 2)
	})
	// The owner, then a node and its slots for each level of the path.
	if allocs < 3 || allocs > 1+2*4 {
		t.Fatalf("a write after a fork allocates %v times, want the nodes of one path", allocs)
	}
	if got := shared.Get(key{id: 18, mask: ^uint64(0)}); got != 18 {
		t.Fatalf("the shared version sees the fork's write: %d", got)
	}
}

// TestWriteAfterForkCopiesLittle: a write after a fork copies the nodes
// of one path, and of each only the array it changes: a branch costs a
// pointer in its node, not an entry's room. With slots holding entries
// and branches alike, a write into a map of 5,000 keys allocated 3.2 kB
// (two full levels of 32 entry-sized slots); now 0.9 kB, and it must stay
// below 1.5 kB.
func TestWriteAfterForkCopiesLittle(t *testing.T) {
	o := NewOwner()
	var m Map[key, int]
	for i := 0; i < 5000; i++ {
		m.Set(o, key{id: i, mask: ^uint64(0)}, i)
	}
	const runs = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		fork := m
		fork.Set(NewOwner(), key{id: i, mask: ^uint64(0)}, -1)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 1500 {
		t.Fatalf("a write after a fork allocates %d bytes, want the changed arrays of one path", per)
	}
}
