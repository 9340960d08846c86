package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The collector's settings for the commands that judge and exit (check,
// rehearse, review, try-safe-ways); serve and mcp keep Go's defaults.
//
// Half of a run's peak RSS is the binary's own pages (34 MiB), which no
// setting moves; the rest is the heap and the runtime's memory. Go's
// defaults collect whenever the heap has doubled since the last
// collection, from 4 MB on: a small run collects several times for
// nothing (its memory goes back at exit anyway), and on a large history
// the peak follows twice the largest live heap (66 MiB over a 224-file
// history whose live heap tops at 15 MB). A short-lived process is better
// served by collecting seldom (a fivefold heap) under a soft limit on the
// runtime's memory, which makes the collector run more often only as the
// total nears it. Measured on the corpus (docs/performance.md, "Peak
// RSS"): a third fewer instructions on a small history, 15% fewer on a
// 436-file one, and a peak under 64 MiB on the 224-file one for a tenth
// more.
const (
	cliMemoryLimit = 30 << 20
	cliGCPercent   = 400
)

// A history whose live heap outgrows half the limit would make the
// collector run almost without pause to stay under it (Go caps that at
// half the CPU, which would still double the run's time): the settings go
// back to Go's defaults then, and the run goes on as it would without
// them.
const (
	liftAbove        = cliMemoryLimit / 2
	defaultGCPercent = 100
)

// memoryTuning guards the watch on the live heap: one per process.
var memoryTuning struct {
	mu       sync.Mutex
	watching bool
	// observed, if set, is called after each reading of the live heap
	// with whether the settings were lifted (tests).
	observed func(lifted bool)
}

// tuneMemory applies the short-lived process's settings, unless the user
// chose the collector's settings (GOGC or GOMEMLIMIT in getenv), which are
// left as the runtime read them. It reports whether it applied them.
func tuneMemory(getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	// Under the lock, so that a watch deciding to stop sees either the
	// settings before these or these.
	memoryTuning.mu.Lock()
	defer memoryTuning.mu.Unlock()
	debug.SetGCPercent(cliGCPercent)
	debug.SetMemoryLimit(cliMemoryLimit)
	if !memoryTuning.watching {
		memoryTuning.watching = true
		watchLiveHeap()
	}
	return true
}

// gcSentinel is unreachable from its creation; its cleanup runs after the
// collection that finds it, so a chain of them runs once per collection.
// It holds a pointer so that it is never batched with other small objects
// (whose cleanup could then wait for theirs).
type gcSentinel struct {
	_ *byte
	_ [16]byte
}

// watchLiveHeap reads the live heap after every collection and, once it
// is over liftAbove, lifts the limit and sets Go's default percentage. It
// stops when the limit is no longer the one tuneMemory set (lifted, or
// set by someone else).
func watchLiveHeap() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	check := func(struct{}) {
		memoryTuning.mu.Lock()
		if debug.SetMemoryLimit(-1) != cliMemoryLimit {
			memoryTuning.watching = false
			memoryTuning.mu.Unlock()
			return
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > liftAbove {
			debug.SetGCPercent(defaultGCPercent)
			debug.SetMemoryLimit(math.MaxInt64)
			memoryTuning.watching = false
			observed := memoryTuning.observed
			memoryTuning.mu.Unlock()
			if observed != nil {
				observed(true)
			}
			return
		}
		observed := memoryTuning.observed
		memoryTuning.mu.Unlock()
		arm()
		if observed != nil {
			observed(false)
		}
	}
	arm = func() {
		runtime.AddCleanup(new(gcSentinel), check, struct{}{})
	}
	arm()
}
