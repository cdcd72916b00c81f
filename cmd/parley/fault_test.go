package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// apiCall does one JSON request; status 0 means the server did not answer.
func apiCall(base, token, method, path string, body any, out any) int {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

type faultUser struct {
	id    int64
	token string
}

func mustRegister(t *testing.T, base, name string) faultUser {
	t.Helper()
	var out struct {
		User  struct{ ID int64 } `json:"user"`
		Token string             `json:"token"`
	}
	if code := apiCall(base, "", "POST", "/api/register", map[string]any{"username": name, "password": "password123"}, &out); code != 201 {
		t.Fatalf("register %s: %d", name, code)
	}
	return faultUser{out.User.ID, out.Token}
}

// TestKillNineLoop kills the server with SIGKILL 20 times while clients send
// and receive, and checks the promise: every acknowledged message is stored
// exactly once, in order, at the seq its acknowledgement gave, and reached
// its recipient after it resumed. Half the senders send over HTTP (acked by
// 201 or 200), half with WebSocket send frames (acked by the ack frame).
func TestKillNineLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault test runs the real binary 20 times")
	}
	bin := MustBuild(t)
	data := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := func() (stop func()) {
		cmd, _ := MustStart(t, bin, nil, "-addr", addr, "-data", data)
		return func() { cmd.Process.Kill(); cmd.Wait() }
	}
	base := "http://" + addr
	stop := start()

	const pairs = 4 // even: HTTP senders; odd: WebSocket senders
	type pair struct {
		sender, recipient faultUser
		conv              int64
	}
	var ps []pair
	for i := 0; i < pairs; i++ {
		s, r := mustRegister(t, base, fmt.Sprintf("sender%d", i)), mustRegister(t, base, fmt.Sprintf("recipient%d", i))
		var req struct {
			Request struct{ ID int64 } `json:"request"`
		}
		apiCall(base, s.token, "POST", "/api/friend-requests", map[string]any{"to_id": r.id}, &req)
		var acc struct {
			Friend struct {
				ConversationID int64 `json:"conversation_id"`
			} `json:"friend"`
		}
		if code := apiCall(base, r.token, "POST", fmt.Sprintf("/api/friend-requests/%d/accept", req.Request.ID), nil, &acc); code != 200 {
			t.Fatalf("accept: %d", code)
		}
		ps = append(ps, pair{s, r, acc.Friend.ConversationID})
	}

	ctx, cancel := context.WithCancel(context.Background())          // the recipients
	sendCtx, stopSending := context.WithCancel(context.Background()) // the senders
	var wg, senders sync.WaitGroup
	acked := make([][]ack, pairs)             // each acknowledged send, in order
	received := make([]map[int64]bool, pairs) // seqs each recipient got live or by resume
	var mu sync.Mutex
	for i, p := range ps {
		received[i] = map[int64]bool{}
		wg.Add(1)
		senders.Add(1)
		send, ws := sendHTTP, &wsSender{t: t, addr: addr}
		if i%2 == 1 {
			send = ws.send
		}
		go func(i int, p pair) { // the sender: each message retried with its id until acknowledged
			defer senders.Done()
			defer ws.close()
			for k := 1; sendCtx.Err() == nil; k++ {
				for sendCtx.Err() == nil {
					if seq, ok := send(sendCtx, base, p.sender.token, p.conv, k); ok {
						mu.Lock()
						acked[i] = append(acked[i], ack{k, seq})
						mu.Unlock()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(i, p)
		go func(i int, p pair) { // the recipient: resumes from its cursor after every crash
			defer wg.Done()
			var last int64
			for ctx.Err() == nil {
				url := fmt.Sprintf("ws://%s/api/ws?after=0&convs=%d:%d", addr, p.conv, last)
				dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
				ws, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + p.recipient.token}}})
				dcancel()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				for {
					_, raw, err := ws.Read(ctx)
					if err != nil {
						break
					}
					var f struct {
						Type    string `json:"type"`
						Message struct {
							Seq int64 `json:"seq"`
						} `json:"message"`
					}
					if json.Unmarshal(raw, &f) == nil && f.Type == "message" {
						mu.Lock()
						if received[i][f.Message.Seq] {
							t.Errorf("recipient %d got seq %d twice", i, f.Message.Seq)
						}
						received[i][f.Message.Seq] = true
						mu.Unlock()
						last = max(last, f.Message.Seq)
					}
				}
				ws.CloseNow()
			}
		}(i, p)
	}

	const cycles = 20
	for c := 0; c < cycles; c++ {
		time.Sleep(300 * time.Millisecond)
		stop()
		stop = start()
	}
	time.Sleep(300 * time.Millisecond)
	stopSending()
	senders.Wait()
	// The recipients catch up with everything stored, then stop.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		caughtUp := true
		for i, p := range ps {
			var c struct {
				Conversation struct {
					LastSeq int64 `json:"last_seq"`
				} `json:"conversation"`
			}
			apiCall(base, p.recipient.token, "GET", fmt.Sprintf("/api/conversations/%d", p.conv), nil, &c)
			mu.Lock()
			if int64(len(received[i])) < c.Conversation.LastSeq {
				caughtUp = false
			}
			mu.Unlock()
		}
		if caughtUp {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	for i, p := range ps {
		var stored []struct {
			Seq      int64  `json:"seq"`
			ClientID string `json:"client_id"`
			Body     string `json:"body"`
		}
		for after := int64(0); ; {
			var page struct {
				Messages []struct {
					Seq      int64  `json:"seq"`
					ClientID string `json:"client_id"`
					Body     string `json:"body"`
				} `json:"messages"`
				HasMore bool `json:"has_more"`
			}
			if code := apiCall(base, p.recipient.token, "GET", fmt.Sprintf("/api/conversations/%d/messages?after=%d&limit=200", p.conv, after), nil, &page); code != 200 {
				t.Fatalf("history: %d", code)
			}
			stored = append(stored, page.Messages...)
			if !page.HasMore || len(page.Messages) == 0 {
				break
			}
			after = page.Messages[len(page.Messages)-1].Seq
		}
		byK := map[string]int{}
		prevK := 0
		for j, m := range stored {
			if m.Seq != int64(j+1) {
				t.Fatalf("pair %d: stored seq %d at position %d: a gap", i, m.Seq, j)
			}
			byK[m.Body]++
			var k int
			fmt.Sscan(m.Body, &k)
			if k <= prevK {
				t.Fatalf("pair %d: message %d stored after %d: out of order", i, k, prevK)
			}
			prevK = k
		}
		for _, a := range acked[i] {
			if n := byK[fmt.Sprint(a.k)]; n != 1 {
				t.Fatalf("pair %d: acknowledged message %d stored %d times", i, a.k, n)
			}
			if a.seq < 1 || a.seq > int64(len(stored)) || stored[a.seq-1].Body != fmt.Sprint(a.k) {
				t.Fatalf("pair %d: message %d acknowledged as seq %d, which holds another", i, a.k, a.seq)
			}
		}
		for _, m := range stored {
			if !received[i][m.Seq] {
				t.Errorf("pair %d: stored message seq %d never reached the recipient", i, m.Seq)
			}
		}
		t.Logf("pair %d (%s): %d acknowledged, %d stored, %d received", i, map[bool]string{false: "HTTP", true: "WebSocket"}[i%2 == 1], len(acked[i]), len(stored), len(received[i]))
		if len(acked[i]) < cycles {
			t.Errorf("pair %d: only %d messages acknowledged across %d cycles: the sender hardly ran", i, len(acked[i]), cycles)
		}
	}
	stop()
}

// ack is one acknowledged send: the message's k and the seq the answer gave.
type ack struct {
	k   int
	seq int64
}

// sendHTTP sends message k over HTTP and reports whether it was
// acknowledged (201 stored, 200 stored before), with its seq.
func sendHTTP(ctx context.Context, base, token string, conv int64, k int) (int64, bool) {
	var out struct {
		Message struct {
			Seq int64 `json:"seq"`
		} `json:"message"`
	}
	code := apiCall(base, token, "POST", fmt.Sprintf("/api/conversations/%d/messages", conv),
		map[string]any{"client_id": fmt.Sprintf("k%d", k), "body": fmt.Sprint(k)}, &out)
	return out.Message.Seq, code == 201 || code == 200
}

// wsSender sends with send frames on one WebSocket, dialled again after
// the server died under it. A message counts as acknowledged only when its
// ack frame arrived; a send whose socket failed first is retried, with the
// same client id, on the next socket.
type wsSender struct {
	t    *testing.T
	addr string
	ws   *websocket.Conn
	refs int
}

func (w *wsSender) close() {
	if w.ws != nil {
		w.ws.CloseNow()
	}
}

func (w *wsSender) send(ctx context.Context, _, token string, conv int64, k int) (int64, bool) {
	if w.ws == nil {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ws, _, err := websocket.Dial(dctx, "ws://"+w.addr+"/api/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		cancel()
		if err != nil {
			return 0, false
		}
		ws.SetReadLimit(1 << 20)
		w.ws = ws
	}
	fail := func() (int64, bool) {
		w.ws.CloseNow()
		w.ws = nil
		return 0, false
	}
	w.refs++
	ref := fmt.Sprint("r", w.refs)
	raw, _ := json.Marshal(map[string]any{"type": "send", "ref": ref, "conversation_id": conv, "client_id": fmt.Sprintf("k%d", k), "body": fmt.Sprint(k)})
	// The same bound as the HTTP senders' client.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w.ws.Write(rctx, websocket.MessageText, raw); err != nil {
		return fail()
	}
	for {
		_, raw, err := w.ws.Read(rctx)
		if err != nil {
			return fail()
		}
		var f struct {
			Type    string `json:"type"`
			Ref     string `json:"ref"`
			Message struct {
				Seq      int64  `json:"seq"`
				ClientID string `json:"client_id"`
			} `json:"message"`
		}
		if json.Unmarshal(raw, &f) != nil || f.Ref != ref {
			continue // the sender's own messages, presence, hello
		}
		switch f.Type {
		case "ack":
			if f.Message.ClientID != fmt.Sprintf("k%d", k) {
				w.t.Errorf("the ack of message %d (ref %s) carries client id %q", k, ref, f.Message.ClientID)
				return 0, false
			}
			return f.Message.Seq, true
		case "error":
			return 0, false // retried on this socket
		}
	}
}
