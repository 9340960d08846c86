package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// collectorSettings reads the GC percentage and the memory limit without
// changing them.
func collectorSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

// restoreCollector puts back the test process's own settings at the end.
func restoreCollector(t *testing.T) {
	t.Helper()
	percent, limit := collectorSettings()
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

func TestTuneMemory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		applied bool
	}{
		{"nothing set", nil, true},
		{"GOGC set", map[string]string{"GOGC": "50"}, false},
		{"GOGC off", map[string]string{"GOGC": "off"}, false},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, false},
		{"both set", map[string]string{"GOGC": "200", "GOMEMLIMIT": "100MiB"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restoreCollector(t)
			// What the runtime would have read from the environment.
			debug.SetGCPercent(77)
			debug.SetMemoryLimit(123 << 20)
			got := tuneMemory(func(k string) string { return tc.env[k] })
			if got != tc.applied {
				t.Fatalf("tuneMemory = %v, want %v", got, tc.applied)
			}
			percent, limit := collectorSettings()
			wantPercent, wantLimit := 77, int64(123<<20)
			if tc.applied {
				wantPercent, wantLimit = cliGCPercent, cliMemoryLimit
			}
			if percent != wantPercent || limit != wantLimit {
				t.Errorf("GC percent %d, memory limit %d; want %d, %d", percent, limit, wantPercent, wantLimit)
			}
		})
	}
}

// TestTuneMemoryLifts: once the live heap is over half the limit, the
// settings go back to Go's defaults, so a large history is not slowed by
// a collector running without pause.
func TestTuneMemoryLifts(t *testing.T) {
	restoreCollector(t)
	observed := make(chan bool, 16)
	memoryTuning.mu.Lock()
	memoryTuning.observed = func(lifted bool) { observed <- lifted }
	memoryTuning.mu.Unlock()
	t.Cleanup(func() {
		memoryTuning.mu.Lock()
		memoryTuning.observed = nil
		memoryTuning.mu.Unlock()
	})
	// The watch runs on the runtime's cleanup goroutine after a
	// collection; the bound only keeps a broken watch from hanging the
	// test.
	next := func() bool {
		t.Helper()
		runtime.GC()
		select {
		case lifted := <-observed:
			return lifted
		case <-time.After(time.Minute):
			t.Fatal("the live heap was not read after a collection")
			return false
		}
	}
	if !tuneMemory(func(string) string { return "" }) {
		t.Fatal("tuneMemory did not apply its settings")
	}
	var live runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&live)
	if live.HeapAlloc > liftAbove/2 {
		t.Fatalf("the test's own heap (%d bytes) is too large for this test", live.HeapAlloc)
	}
	// A small live heap: the settings stay.
	if next() {
		t.Fatal("the settings were lifted with a small live heap")
	}
	if percent, limit := collectorSettings(); percent != cliGCPercent || limit != cliMemoryLimit {
		t.Fatalf("GC percent %d, memory limit %d before the heap grew; want %d, %d", percent, limit, cliGCPercent, cliMemoryLimit)
	}
	keep := make([][]byte, 0, 64)
	for n := 0; n < liftAbove+(4<<20); n += 1 << 20 {
		keep = append(keep, make([]byte, 1<<20))
	}
	// A collection while the slices were made may have read the heap
	// half grown: the collections after it must lift the settings.
	lifted := false
	for i := 0; i < 3 && !lifted; i++ {
		if _, limit := collectorSettings(); limit == math.MaxInt64 {
			// Lifted by such a collection already.
			lifted = true
			break
		}
		lifted = next()
	}
	if !lifted {
		t.Fatal("the settings were not lifted with a live heap over half the limit")
	}
	runtime.KeepAlive(keep)
	if percent, limit := collectorSettings(); percent != defaultGCPercent || limit != math.MaxInt64 {
		t.Errorf("GC percent %d, memory limit %d after lifting; want %d, %d", percent, limit, defaultGCPercent, int64(math.MaxInt64))
	}
}

// TestCheckTunesMemory: check applies the settings unless GOGC or
// GOMEMLIMIT is set, through the command line as users run it.
func TestCheckTunesMemory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "001_t.sql"), []byte("CREATE TABLE t (id int);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env     map[string]string
		applied bool
	}{
		{map[string]string{"GOGC": "", "GOMEMLIMIT": ""}, true},
		{map[string]string{"GOGC": "150", "GOMEMLIMIT": ""}, false},
		{map[string]string{"GOGC": "", "GOMEMLIMIT": "2GiB"}, false},
	} {
		restoreCollector(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		debug.SetGCPercent(91)
		debug.SetMemoryLimit(456 << 20)
		st := runQuiet(t, "check", "--no-cache", "--format", "json", filepath.Join(dir, "001_t.sql"))
		if st != exitOK {
			t.Fatalf("check exited %d", st)
		}
		percent, limit := collectorSettings()
		wantPercent, wantLimit := 91, int64(456<<20)
		if tc.applied {
			wantPercent, wantLimit = cliGCPercent, cliMemoryLimit
		}
		if percent != wantPercent || limit != wantLimit {
			t.Errorf("env %v: GC percent %d, memory limit %d; want %d, %d", tc.env, percent, limit, wantPercent, wantLimit)
		}
	}
}

// runQuiet runs the command line in-process with its standard output
// discarded.
func runQuiet(t *testing.T, args ...string) int {
	t.Helper()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	stdout := os.Stdout
	os.Stdout = devNull
	defer func() { os.Stdout = stdout }()
	return run(args)
}
