package chat_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// Resume says the user's newest event seq as of its own snapshot (what a
// hello announces), whether it replays the events or asks for a resync,
// and LastEventSeq gives the same number without a replay.
func TestResumeHeadEventSeq(t *testing.T) {
	now := time.Now()
	svc := MustService(t, &now)
	alice, bob := MustRegister(t, svc, "alice"), MustRegister(t, svc, "bob")
	mustFriends(t, svc, alice, bob) // an event or more for each
	last, err := svc.LastEventSeq(t.Context(), bob)
	if err != nil || last == 0 {
		t.Fatalf("LastEventSeq: %d, %v; want a seq", last, err)
	}

	r, err := svc.Resume(t.Context(), bob, chat.Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	if r.HeadEventSeq != last || r.LastEventSeq != last || len(r.Events) != int(last) || len(r.Resyncs) != 0 {
		t.Fatalf("from 0: head %d, last %d, %d events, %d resyncs; want %d, %d, %d, 0",
			r.HeadEventSeq, r.LastEventSeq, len(r.Events), len(r.Resyncs), last, last, last)
	}

	// A cursor past the log (another server's, or a bug) gets a resync.
	r, err = svc.Resume(t.Context(), bob, chat.Cursor{Events: last + 5})
	if err != nil {
		t.Fatal(err)
	}
	if r.HeadEventSeq != last || r.LastEventSeq != last || len(r.Events) != 0 || len(r.Resyncs) != 1 {
		t.Fatalf("from past the log: head %d, last %d, %d events, %d resyncs; want %d, %d, 0, 1",
			r.HeadEventSeq, r.LastEventSeq, len(r.Events), len(r.Resyncs), last, last)
	}

	// A user with no events.
	carol := MustRegister(t, svc, "carol")
	if got, err := svc.LastEventSeq(t.Context(), carol); err != nil || got != 0 {
		t.Fatalf("LastEventSeq of a new user: %d, %v; want 0", got, err)
	}
	if r, err := svc.Resume(t.Context(), carol, chat.Cursor{}); err != nil || r.HeadEventSeq != 0 || len(r.Events) != 0 {
		t.Fatalf("Resume of a new user: %+v, %v; want nothing", r, err)
	}
}
