// Package ahead computes the items of a sequence on spare cores ahead of a
// consumer that takes them one by one, in order.
//
// Parsing a migration does not depend on the schema, replaying it does:
// the files of a history can be parsed on the other cores while the replay
// works through them in order. A bounded window (so many items, so many
// bytes of input) keeps the results waiting for the consumer from filling
// memory. The consumer computes an item itself when it catches up with
// the helpers, and while a helper finishes the item it needs next it
// computes a later one, so that its core is not left idle when computing
// is slower than consuming.
package ahead

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// Limits bound how far the helpers run ahead of the consumer.
type Limits struct {
	// Helpers is the number of goroutines computing ahead: 0 means one
	// per core beyond the consumer's (GOMAXPROCS-1), a negative number
	// none. With no helper the consumer computes each item as it takes it.
	Helpers int
	// Items bounds the items computed or being computed that the consumer
	// has not taken yet (at least 1).
	Items int
	// Bytes bounds the sum of the sizes of those items; an item larger
	// than Bytes alone is still computed, once the consumer has taken
	// every earlier one.
	Bytes int
}

// Sequence hands out the results of compute(0), compute(1), ... in order.
// Take them with Next; call Stop when done (or when giving up early), which
// lets the helpers go.
type Sequence[T any] struct {
	compute func(int) T
	size    func(int) int
	lim     Limits

	mu   sync.Mutex
	cond *sync.Cond
	// items[i] is item i's state; done ones hold their result.
	items []item[T]
	// next is the index the consumer takes next; started counts the items
	// a helper or the consumer began, always at least next.
	next, started int
	// ahead is the size of the items started and not yet taken.
	ahead   int
	stopped bool
	helpers sync.WaitGroup
}

type item[T any] struct {
	done   bool
	result T
	// panicked holds what compute panicked with on a helper: it is raised
	// again on the consumer's goroutine, where the caller can recover it.
	panicked any
}

// Start computes items 0..n-1 ahead within lim; size gives each item's
// weight against lim.Bytes (the bytes it parses).
func Start[T any](n int, lim Limits, size func(int) int, compute func(int) T) *Sequence[T] {
	if lim.Helpers == 0 {
		lim.Helpers = runtime.GOMAXPROCS(0) - 1
	}
	lim.Items = max(lim.Items, 1)
	s := &Sequence[T]{compute: compute, size: size, lim: lim, items: make([]item[T], n)}
	s.cond = sync.NewCond(&s.mu)
	for h := 0; h < min(lim.Helpers, n); h++ {
		s.helpers.Add(1)
		go func() {
			defer s.helpers.Done()
			s.help()
		}()
	}
	return s
}

// Len is the number of items.
func (s *Sequence[T]) Len() int { return len(s.items) }

// help computes items ahead until every item is started or Stop is called.
func (s *Sequence[T]) help() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for !s.stopped && s.started < len(s.items) && !s.roomFor(s.started) {
			s.cond.Wait()
		}
		if s.stopped || s.started >= len(s.items) {
			return
		}
		s.computeStarted()
	}
}

// computeStarted begins the first item not yet started and records its
// result, or its panic for the consumer to raise when it takes the item.
// It is called with s.mu held and unlocks it while computing.
func (s *Sequence[T]) computeStarted() {
	i := s.started
	s.started++
	s.ahead += s.size(i)
	s.mu.Unlock()
	r, p := s.run(i)
	s.mu.Lock()
	s.items[i] = item[T]{done: true, result: r, panicked: p}
	s.cond.Broadcast()
}

// roomFor says item i fits in the window: the first item not yet taken
// always does.
func (s *Sequence[T]) roomFor(i int) bool {
	if i == s.next {
		return true
	}
	return i-s.next < s.lim.Items && s.ahead+s.size(i) <= s.lim.Bytes
}

func (s *Sequence[T]) run(i int) (r T, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = fmt.Errorf("computing item %d ahead: %v\n%s", i, p, debug.Stack())
		}
	}()
	return s.compute(i), nil
}

// Next returns the next item's result, in order: computed ahead, or
// computed now when no helper has begun it. It panics when every item
// was taken.
func (s *Sequence[T]) Next() T {
	s.mu.Lock()
	i := s.next
	if i >= len(s.items) {
		s.mu.Unlock()
		panic("ahead: Next after the last item")
	}
	if s.started == i {
		// Caught up with the helpers: compute it here rather than wait.
		s.started++
		s.ahead += s.size(i)
		s.mu.Unlock()
		r := s.compute(i)
		s.mu.Lock()
		s.items[i] = item[T]{done: true, result: r}
	}
	for !s.items[i].done {
		// A helper is computing item i. Rather than leave this core idle
		// until it is done, compute a later item that fits in the window:
		// when computing is slower than consuming, the consumer would
		// otherwise wait about one item's time for every item it takes.
		if !s.stopped && s.started < len(s.items) && s.roomFor(s.started) {
			s.computeStarted()
			continue
		}
		s.cond.Wait()
	}
	it := s.items[i]
	s.items[i] = item[T]{done: true} // the result is the caller's now
	s.next++
	s.ahead -= s.size(i)
	s.cond.Broadcast()
	s.mu.Unlock()
	if it.panicked != nil {
		panic(it.panicked)
	}
	return it.result
}

// Stop lets the helpers go and waits for them: they finish the item they
// are computing and start no other. Results not taken are dropped.
func (s *Sequence[T]) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.helpers.Wait()
}
