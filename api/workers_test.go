package api

import (
	"io"
	"log/slog"
	"runtime"
	"sync"
	"testing"
)

// Functions run one after another reuse one worker, and a panicking
// function leaves the worker (and the process) running.
func TestWorkersAreReusedAndSurvivePanics(t *testing.T) {
	w := newWorkers(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var ids sync.Map
	done := make(chan struct{})
	w.run(func() { panic("a send that panics") })
	for w.idle.Load() == 0 {
		runtime.Gosched()
	}
	for i := range 50 {
		w.run(func() {
			buf := make([]byte, 64)
			buf = buf[:runtime.Stack(buf, false)] // "goroutine N [running]:..."
			ids.Store(string(buf[:indexByte(buf, ' ', 2)]), true)
			done <- struct{}{}
		})
		<-done
		for w.idle.Load() == 0 { // back at its receive
			runtime.Gosched()
		}
		_ = i
	}
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("50 functions run one after another used %d goroutines, want them reused", n)
	}
}

// indexByte returns the index of the k-th c in b, or len(b).
func indexByte(b []byte, c byte, k int) int {
	for i, x := range b {
		if x == c {
			if k--; k == 0 {
				return i
			}
		}
	}
	return len(b)
}
