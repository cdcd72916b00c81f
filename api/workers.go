package api

import (
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// workers runs functions in goroutines that outlive one function. The
// sends of every socket's lane (sendLane) run here: a fresh goroutine per
// send grew its stack on the way through the store and the encoder (from
// 2 KiB, copied at each doubling), which cost 8% of the server's CPU under
// the direct load (docs/BENCHMARKS.md). A worker with nothing to do for
// workerIdle ends, so a burst leaves no goroutines behind.
type workers struct {
	log  *slog.Logger
	jobs chan func()  // unbuffered: a send succeeds only into an idle worker
	idle atomic.Int32 // workers waiting for a function
}

// workerIdle is how long a worker waits for its next function.
const workerIdle = 10 * time.Second

func newWorkers(log *slog.Logger) *workers {
	return &workers{log: log, jobs: make(chan func())}
}

// run runs fn in an idle worker, or in a new one.
func (w *workers) run(fn func()) {
	select {
	case w.jobs <- fn:
	default:
		go w.work(fn)
	}
}

func (w *workers) work(fn func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		w.call(fn)
		idle.Reset(workerIdle)
		w.idle.Add(1)
		select {
		case fn = <-w.jobs:
			w.idle.Add(-1)
		case <-idle.C:
			w.idle.Add(-1)
			return
		}
	}
}

// call runs fn; a panic is logged and the worker goes on (fn's own
// deferred calls have run by then).
func (w *workers) call(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			w.log.Error("panic in a worker", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn()
}
