package api_test

import (
	"net/http"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
)

// An open socket must not keep what net/http allocated for its upgrade
// request: the response, and with it the request and net/http's 8 KiB of
// buffers, which coder/websocket does not use (it was given smaller ones).
// Holding them made an idle socket cost 20 KiB of RSS instead of 11.
func TestSocketLetsGoOfTheUpgradeResponse(t *testing.T) {
	var hooked, freed atomic.Int32
	m := MustServer(t, func(c *app.Config) {
		c.API = api.WithUpgradeHook(c.API, func(w http.ResponseWriter) {
			hooked.Add(1)
			// A cleanup, not a finalizer: the response points to itself,
			// and a finalizer keeps such an object alive for ever.
			p := (*byte)(reflect.ValueOf(w).UnsafePointer())
			runtime.AddCleanup(p, func(*atomic.Int32) { freed.Add(1) }, &freed)
		})
	})
	a, b := MustUser(t, m, "kim"), MustUser(t, m, "lee")
	conv := MustFriends(t, a, b)
	s := a.MustDial("")
	if hooked.Load() != 1 {
		t.Fatalf("the upgrade hook ran %d times, want 1", hooked.Load())
	}
	// Cleanups run after a collection finds the object unreachable, on
	// their own goroutine: give them a few rounds.
	for i := 0; i < 50 && freed.Load() == 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if freed.Load() != 1 {
		t.Errorf("the upgrade's ResponseWriter is still reachable while its socket is open")
	}
	// The socket is still the live one.
	b.MustSend(conv, "after-gc", "still here", http.StatusCreated)
	if f := s.MustReadType("message"); f.Message == nil || f.Message.Body != "still here" {
		t.Errorf("after the collections the socket read %+v, want lee's message", f)
	}
}
