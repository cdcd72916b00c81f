package chat_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleychat/parley/blob"
	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/password"
	"github.com/parleychat/parley/sqlstore"
)

// TestRetryAfterUnconfirmedCommitPublishes: a send whose commit was not
// confirmed answers 503 and publishes nothing, though the message is
// stored; the client's retry with the same client id gets the stored
// message, and it is published then, so the recipient hears of it live. A
// retry once a later message exists publishes nothing: that message's
// notice already made the streams fetch it.
func TestRetryAfterUnconfirmedCommitPublishes(t *testing.T) {
	sqlite, err := sqlstore.OpenSQLite(context.Background(), t.TempDir()+"/parley.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close() })
	store := &unconfirmedStore{Store: sqlite}
	svc, err := chat.NewService(store, bus.New(), password.Fast, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ann, bea := MustRegister(t, svc, "ann"), MustRegister(t, svc, "bea")
	conv := mustFriends(t, svc, ann, bea)

	var mu sync.Mutex
	var published []chat.Notice // message notices of conv
	svc.Bus.Subscribe(func(n chat.Notice) {
		if n.ConversationID == conv && n.MessageSeq != 0 {
			mu.Lock()
			published = append(published, n)
			mu.Unlock()
		}
	})
	notices := func() []chat.Notice {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(published)
	}

	store.loseAfter.Store(1)
	if _, _, err := svc.Send(ctx, ann, conv, "c1", "hello"); chat.ErrorCode(err) != chat.EUNAVAILABLE {
		t.Fatalf("Send whose commit was not confirmed: got %v, want code %s", err, chat.EUNAVAILABLE)
	}
	if got := notices(); len(got) != 0 {
		t.Fatalf("published after the unconfirmed send: %+v, want nothing", got)
	}

	m, created, err := svc.Send(ctx, ann, conv, "c1", "hello")
	if err != nil || created || m.Body != "hello" {
		t.Fatalf("retry: got %+v, created %v, %v; want the stored message, not created", m, created, err)
	}
	// A lone Send publishes before it returns (its own turn in
	// publishOrder, on a bus that delivers in the caller's goroutine).
	got := notices()
	if len(got) != 1 || got[0].MessageSeq != m.Seq || !slices.Contains(got[0].To, bea) || len(got[0].Frame) == 0 {
		t.Fatalf("published after the retry: %+v, want one notice of seq %d to bea with its frame", got, m.Seq)
	}

	later, _, err := svc.Send(ctx, bea, conv, "c2", "hi ann")
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := svc.Send(ctx, ann, conv, "c1", "hello"); err != nil || created {
		t.Fatalf("retry after a later message: created %v, %v; want the stored message", created, err)
	}
	var seqs []int64
	for _, n := range notices() {
		seqs = append(seqs, n.MessageSeq)
	}
	if want := []int64{m.Seq, later.Seq}; !slices.Equal(seqs, want) {
		t.Errorf("message notices: got seqs %v, want %v (no copy of %d after %d)", seqs, want, m.Seq, later.Seq)
	}
}

// TestRetriedUploadAfterUnconfirmedCommitPublishes is the same for a file:
// the upload whose commit was not confirmed publishes nothing; its retry
// reads no byte, gets the stored message, and publishes it.
func TestRetriedUploadAfterUnconfirmedCommitPublishes(t *testing.T) {
	sqlite, err := sqlstore.OpenSQLite(context.Background(), t.TempDir()+"/parley.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlite.Close() })
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &unconfirmedStore{Store: sqlite}
	svc, err := chat.NewService(store, bus.New(), password.Fast, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Media = chat.MediaConfig{Blobs: blobs}
	ctx := t.Context()
	ann, bea := MustRegister(t, svc, "ann"), MustRegister(t, svc, "bea")
	conv := mustFriends(t, svc, ann, bea)
	var mu sync.Mutex
	var published []int64 // message seqs of conv
	svc.Bus.Subscribe(func(n chat.Notice) {
		if n.ConversationID == conv && n.MessageSeq != 0 && slices.Contains(n.To, bea) && len(n.Frame) > 0 {
			mu.Lock()
			published = append(published, n.MessageSeq)
			mu.Unlock()
		}
	})
	seqs := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(published)
	}
	up := func(body string) chat.Upload {
		return chat.Upload{ConversationID: conv, ClientID: "f1", Kind: chat.AttachmentFile, Name: "notes.txt",
			Size: int64(len(body)), Body: strings.NewReader(body)}
	}

	// An upload takes two updates: its pending row, then its message.
	store.loseAfter.Store(2)
	if _, _, err := svc.Upload(ctx, ann, up("first bytes")); chat.ErrorCode(err) != chat.EUNAVAILABLE {
		t.Fatalf("upload whose commit was not confirmed: got %v, want code %s", err, chat.EUNAVAILABLE)
	}
	if got := seqs(); len(got) != 0 {
		t.Fatalf("published after the unconfirmed upload: %v, want nothing", got)
	}
	m, created, err := svc.Upload(ctx, ann, up("first bytes"))
	if err != nil || created {
		t.Fatalf("retried upload: created %v, %v; want the stored message", created, err)
	}
	if got := seqs(); !slices.Equal(got, []int64{m.Seq}) {
		t.Fatalf("published after the retry: seqs %v, want [%d]", got, m.Seq)
	}
}

// unconfirmedStore answers the loseAfter-th Update from now as a database
// whose commit confirmation never arrived would: committed, but
// unavailable. The others it answers as they are.
type unconfirmedStore struct {
	chat.Store
	loseAfter atomic.Int32
}

func (s *unconfirmedStore) Update(ctx context.Context, fn func(chat.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	if err == nil && s.loseAfter.Load() > 0 && s.loseAfter.Add(-1) == 0 {
		return errAway
	}
	return err
}
