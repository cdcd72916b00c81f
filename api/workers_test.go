package api

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
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
	waitWorkerParked(t, w)
	for i := range 50 {
		w.run(func() {
			buf := make([]byte, 64)
			buf = buf[:runtime.Stack(buf, false)] // "goroutine N [running]:..."
			ids.Store(string(buf[:indexByte(buf, ' ', 2)]), true)
			done <- struct{}{}
		})
		<-done
		waitWorkerParked(t, w) // back at its receive: idle counts it just before
		_ = i
	}
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("50 functions run one after another used %d goroutines, want them reused", n)
	}
}

// waitWorkerParked waits until a worker goroutine of w is parked in its
// select, where run's hand-off reaches it. workers.idle counts a worker a
// moment before it gets there, and a loaded machine can stretch that
// moment. (Other tests' workers are told apart by w's address.)
func waitWorkerParked(t *testing.T, w *workers) {
	t.Helper()
	frame := fmt.Sprintf("(*workers).work(%p", w)
	buf := make([]byte, 1<<20)
	for range 100000 {
		dump := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(dump, "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, frame) {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatal("no worker parked at its receive")
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
