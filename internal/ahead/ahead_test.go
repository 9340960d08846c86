package ahead

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// watched starts a sequence whose compute checks, as it begins each item,
// that the item lies within the window the consumer has left it.
func watched(t *testing.T, n int, lim Limits, size func(int) int) (*Sequence[int], *atomic.Int32) {
	t.Helper()
	var s *Sequence[int]
	ready := make(chan struct{})
	var computed atomic.Int32
	s = Start(n, lim, size, func(i int) int {
		<-ready
		computed.Add(1)
		s.mu.Lock()
		next, inFlight := s.next, s.ahead
		s.mu.Unlock()
		if i != next && (i-next >= lim.Items || inFlight > lim.Bytes) {
			t.Errorf("item %d begun while the consumer takes %d next with %d bytes ahead: outside the window %+v", i, next, inFlight, lim)
		}
		return i * i
	})
	close(ready)
	return s, &computed
}

func TestInOrderWithinWindow(t *testing.T) {
	for _, lim := range []Limits{
		{Helpers: 1, Items: 1, Bytes: 1 << 20},
		{Helpers: 1, Items: 4, Bytes: 1 << 20},
		{Helpers: 3, Items: 8, Bytes: 1 << 20},
		{Helpers: 3, Items: 8, Bytes: 25}, // bytes bind before items
		{Helpers: 2, Items: 8, Bytes: 5},  // every item is larger than the window
	} {
		t.Run(fmt.Sprintf("%+v", lim), func(t *testing.T) {
			const n = 200
			s, computed := watched(t, n, lim, func(i int) int { return 10 + i%7 })
			defer s.Stop()
			if s.Len() != n {
				t.Fatalf("Len %d, want %d", s.Len(), n)
			}
			for i := 0; i < n; i++ {
				if got := s.Next(); got != i*i {
					t.Fatalf("item %d: got %d, want %d", i, got, i*i)
				}
			}
			if c := computed.Load(); c != n {
				t.Errorf("computed %d items, want each of the %d once", c, n)
			}
		})
	}
}

// TestStopEarly: a consumer that gives up leaves at most a window of
// items computed beyond what it took, and Stop returns once the helpers
// are gone (none computes afterwards).
func TestStopEarly(t *testing.T) {
	lim := Limits{Helpers: 2, Items: 3, Bytes: 1 << 20}
	s, computed := watched(t, 1000, lim, func(int) int { return 1 })
	for i := 0; i < 5; i++ {
		s.Next()
	}
	s.Stop()
	after := computed.Load()
	if after > 5+int32(lim.Items) {
		t.Errorf("%d items computed for 5 taken, window %d", after, lim.Items)
	}
	s.Stop() // twice is harmless
	if c := computed.Load(); c != after {
		t.Errorf("%d items computed after Stop returned, %d before", c, after)
	}
}

// TestPanicReachesConsumer: whichever goroutine computes the item, its
// panic is raised where the consumer takes it, for the caller to recover.
func TestPanicReachesConsumer(t *testing.T) {
	for round := 0; round < 20; round++ {
		s := Start(10, Limits{Helpers: 1, Items: 4, Bytes: 1 << 20}, func(int) int { return 1 }, func(i int) int {
			if i == 3 {
				panic("boom")
			}
			return i
		})
		func() {
			defer s.Stop()
			for i := 0; i < 3; i++ {
				if got := s.Next(); got != i {
					t.Fatalf("item %d: got %d", i, got)
				}
			}
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(fmt.Sprint(p), "boom") {
					t.Errorf("took item 3 and recovered %v, want its panic", p)
				}
			}()
			s.Next()
			t.Error("Next returned the item that panicked")
		}()
	}
}

func TestNextPastTheEnd(t *testing.T) {
	s := Start(1, Limits{Items: 1, Bytes: 1}, func(int) int { return 1 }, func(i int) string { return "only" })
	defer s.Stop()
	if got := s.Next(); got != "only" {
		t.Fatalf("got %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Next after the last item did not panic")
		}
	}()
	s.Next()
}

func TestEmpty(t *testing.T) {
	s := Start(0, Limits{}, func(int) int { return 1 }, func(int) int {
		t.Error("computed an item of an empty sequence")
		return 0
	})
	s.Stop()
}

// TestConsumerComputesAheadWhileWaiting: while a helper is busy with the
// item the consumer needs, the consumer computes the next one rather than
// wait. Item 0's computation cannot finish until item 1's has begun, and
// the only helper is busy with item 0: without the consumer's help the
// sequence never completes.
func TestConsumerComputesAheadWhileWaiting(t *testing.T) {
	oneBegun := make(chan struct{})
	zeroBegun := make(chan struct{})
	s := Start(3, Limits{Helpers: 1, Items: 4, Bytes: 1 << 20}, func(int) int { return 1 }, func(i int) int {
		switch i {
		case 0:
			close(zeroBegun)
			<-oneBegun
		case 1:
			close(oneBegun)
		}
		return i + 10
	})
	// The helper begins item 0 before the consumer asks for it, so the
	// consumer finds it in progress rather than computing it itself.
	<-zeroBegun
	done := make(chan []int)
	go func() {
		defer s.Stop()
		var got []int
		for range 3 {
			got = append(got, s.Next())
		}
		done <- got
	}()
	select {
	case got := <-done:
		if fmt.Sprint(got) != "[10 11 12]" {
			t.Errorf("got %v, want [10 11 12] in order", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the consumer waited for the helper instead of computing item 1")
	}
}

// TestConsumerHelpStaysInWindow: the consumer computes later items only
// within the window, and a later item's panic is raised only when taken.
func TestConsumerHelpStaysInWindow(t *testing.T) {
	for _, lim := range []Limits{
		{Helpers: 1, Items: 1, Bytes: 1 << 20},
		{Helpers: 1, Items: 2, Bytes: 1 << 20},
		{Helpers: 1, Items: 8, Bytes: 12},
	} {
		t.Run(fmt.Sprintf("%+v", lim), func(t *testing.T) {
			const n = 300
			s, computed := watched(t, n, lim, func(i int) int { return 5 + i%3 })
			defer s.Stop()
			for i := 0; i < n; i++ {
				if got := s.Next(); got != i*i {
					t.Fatalf("item %d: got %d, want %d", i, got, i*i)
				}
			}
			if c := computed.Load(); c != n {
				t.Errorf("computed %d items, want each of the %d once", c, n)
			}
		})
	}
}
