package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
)

func TestRecall(t *testing.T) {
	m := MustServer(t)
	a, b, c := MustUser(t, m, "kai"), MustUser(t, m, "lea"), MustUser(t, m, "mo")
	conv := MustFriends(t, a, b)
	bs := b.MustDial("")
	msg := a.MustSend(conv, "r1", "sent to the wrong person", http.StatusCreated)
	path := fmt.Sprintf("/api/conversations/%d/messages/%d/recall", conv, msg.Seq)
	b.MustFail("POST", path, nil, http.StatusForbidden, "forbidden") // not b's message
	c.MustFail("POST", path, nil, http.StatusNotFound, "not_found")  // not c's conversation
	var out struct {
		Message struct {
			Seq  int64  `json:"seq"`
			Kind string `json:"kind"`
		} `json:"message"`
	}
	a.MustDo("POST", path, nil, http.StatusOK, &out)
	if out.Message.Kind != "recall" || out.Message.Seq != 2 {
		t.Fatalf("recall: got %+v, want a recall message with seq 2", out.Message)
	}
	a.MustFail("POST", path, nil, http.StatusConflict, "conflict")
	for f := bs.MustReadType("message"); f.Message.Seq != 2; f = bs.MustReadType("message") {
	}
	var page struct {
		Messages []struct {
			Seq        int64      `json:"seq"`
			Body       string     `json:"body"`
			RecalledAt *time.Time `json:"recalled_at"`
		} `json:"messages"`
	}
	b.MustDo("GET", fmt.Sprintf("/api/conversations/%d/messages", conv), nil, http.StatusOK, &page)
	if page.Messages[0].Body != "" || page.Messages[0].RecalledAt == nil {
		t.Fatalf("history after recall: got %+v, want the content gone", page.Messages[0])
	}
}

func TestRecallWindowAndGroupAdmins(t *testing.T) {
	m := MustServer(t)
	c := MustCast(t, m)
	w := c.MustWorld(t)
	msg := c.member.MustSend(w.conv, "g1", "admins may delete this", http.StatusCreated)
	c.admin.MustDo("POST", fmt.Sprintf("/api/conversations/%d/messages/%d/recall", w.conv, msg.Seq), nil, http.StatusOK, nil)
	mine := c.admin.MustSend(w.conv, "g2", "an admin's own", http.StatusCreated)
	c.member.MustFail("POST", fmt.Sprintf("/api/conversations/%d/messages/%d/recall", w.conv, mine.Seq), nil, http.StatusForbidden, "forbidden")
}

func TestTypingReceiptsAndPresence(t *testing.T) {
	m := MustServer(t, func(c *app.Config) { c.PresenceGrace = 50 * time.Millisecond })
	a, b := MustUser(t, m, "ned"), MustUser(t, m, "ola")
	conv := MustFriends(t, a, b)
	as := a.MustDial("")
	// b comes online: a, a friend, is told.
	bs := b.MustDial("")
	if f := as.MustReadType("presence"); f.UserID != b.user.ID || !f.Online {
		t.Fatalf("presence: got %+v, want b online", f)
	}
	var friends struct {
		Friends []struct {
			Online bool `json:"online"`
		} `json:"friends"`
	}
	a.MustDo("GET", "/api/friends", nil, http.StatusOK, &friends)
	if len(friends.Friends) != 1 || !friends.Friends[0].Online {
		t.Fatalf("a's friend list: got %+v, want b online", friends)
	}

	// Typing reaches the other side only.
	bs.MustWrite(map[string]any{"type": "typing", "conversation_id": conv})
	if f := as.MustReadType("typing"); f.UserID != b.user.ID || f.ConvID != conv {
		t.Fatalf("typing: got %+v", f)
	}

	// Delivered and read receipts come back to the sender.
	msg := a.MustSend(conv, "d1", "did you get this?", http.StatusCreated)
	bs.MustWrite(map[string]any{"type": "delivered", "ref": "d", "conversation_id": conv, "seq": msg.Seq})
	if f := as.MustReadType("receipt"); f.DeliveredSeq == nil || *f.DeliveredSeq != msg.Seq || f.ReadSeq != 0 {
		t.Fatalf("delivered receipt: got %+v", f)
	}
	b.MustDo("POST", fmt.Sprintf("/api/conversations/%d/read", conv), map[string]any{"seq": msg.Seq}, http.StatusOK, nil)
	if f := as.MustReadType("receipt"); f.ReadSeq != msg.Seq {
		t.Fatalf("read receipt: got %+v", f)
	}
	var list struct {
		Conversations []struct {
			PeerRead      int64 `json:"peer_last_read_seq"`
			PeerDelivered int64 `json:"peer_delivered_seq"`
		} `json:"conversations"`
	}
	a.MustDo("GET", "/api/conversations", nil, http.StatusOK, &list)
	if list.Conversations[0].PeerRead != msg.Seq || list.Conversations[0].PeerDelivered != msg.Seq {
		t.Fatalf("a's summary: got %+v, want b's markers at %d", list.Conversations[0], msg.Seq)
	}

	// b goes away: after the grace a is told, with a last-seen time.
	bs.ws.CloseNow()
	f := as.MustReadType("presence")
	if f.UserID != b.user.ID || f.Online {
		t.Fatalf("presence: got %+v, want b offline", f)
	}
	a.MustDo("GET", "/api/friends", nil, http.StatusOK, &friends)
	if friends.Friends[0].Online {
		t.Fatal("b still online in a's friend list")
	}
}

func TestRecallDeletesAttachmentBytes(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "pia"), MustUser(t, m, "quo")
	conv := MustFriends(t, a, b)
	msg := a.MustUpload(conv, "image", "cat.png", "img-1", pngOf(t, 64, 48), http.StatusCreated)
	if n := len(blobFiles(t, m)); n != 2 {
		t.Fatalf("after the upload: %d blob files, want the picture and its thumbnail", n)
	}
	a.MustDo("POST", fmt.Sprintf("/api/conversations/%d/messages/%d/recall", conv, msg.Seq), nil, http.StatusOK, nil)
	waitBlobs(t, m, 0)
	b.MustNotFetch("/api/attachments/"+msg.Data.ID, nil)
}
