package main_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestClusterFlagsRefused: a mistyped -bus, -blobs or -node-timeout stops
// the node at start with a message that names the problem, and an
// unreachable NATS too, instead of a node that serves half a cluster.
func TestClusterFlagsRefused(t *testing.T) {
	bin := MustBuild(t)
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"-bus", "redis://secret@x"}, nil, `unsupported bus "redis:..."`},
		{nil, []string{"PARLEY_BUS=nats://127.0.0.1:1,kafka://x"}, `unsupported bus "kafka:..."`},
		{[]string{"-bus", "nats://127.0.0.1:1"}, nil, "natsbus: connect"},
		{[]string{"-blobs", "ftp://x"}, nil, `unsupported blobs "ftp:..."`},
		{[]string{"-blobs", "dir:"}, nil, "needs a folder"},
		{[]string{"-blobs", "s3://bucket?endpoint=ftp://x"}, nil, "s3blob: endpoint"},
		{[]string{"-node-timeout", "1s"}, nil, "-node-timeout"},
		{nil, []string{"PARLEY_NODE_TIMEOUT=soon"}, "-node-timeout"},
		{[]string{"-trusted-proxies", "10.0.0.1,nginx"}, nil, `bad -trusted-proxies entry "nginx"`},
	} {
		cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)...)
		cmd.Env = append(cmd.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("parley %v %v: got %v %q, want a failure containing %q", tc.args, tc.env, err, out, tc.want)
		}
		if strings.Contains(string(out), "secret") {
			t.Errorf("parley %v: the output shows the URL's secret: %q", tc.args, out)
		}
	}
}

// TestMaxMembersFlag: -max-members (PARLEY_MAX_MEMBERS) caps the member
// limit groups may choose, and out-of-range or malformed values stop the
// node at start.
func TestMaxMembersFlag(t *testing.T) {
	bin := MustBuild(t)
	for _, tc := range []struct {
		args []string
		env  []string
	}{
		{[]string{"-max-members", "1"}, nil},
		{[]string{"-max-members", "5001"}, nil},
		{[]string{"-max-members", "-5"}, nil},
		{nil, []string{"PARLEY_MAX_MEMBERS=lots"}},
		{nil, []string{"PARLEY_MAX_MEMBERS=0"}},
	} {
		cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)...)
		cmd.Env = append(cmd.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "-max-members (PARLEY_MAX_MEMBERS) must be from 2 to 5000") {
			t.Errorf("parley %v %v: got %v %q, want a failure naming -max-members and its range", tc.args, tc.env, err, out)
		}
	}
	if out, err := exec.Command(bin, "-max-members", "ten").CombinedOutput(); err == nil || !strings.Contains(string(out), "-max-members") {
		t.Errorf("parley -max-members ten: got %v %q, want a failure naming the flag", err, out)
	}

	// By variable, and the flag wins over it.
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{[]string{"PARLEY_MAX_MEMBERS=10"}, nil},
		{[]string{"PARLEY_MAX_MEMBERS=4000"}, []string{"-max-members", "10"}},
	} {
		_, url := MustStart(t, bin, tc.env, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)...)
		u := mustRegister(t, url, "capped")
		var g struct {
			Group struct {
				ID          int64 `json:"id"`
				MemberLimit int   `json:"member_limit"`
			} `json:"group"`
		}
		if code := apiCall(url, u.token, "POST", "/api/groups", map[string]any{"name": "Small"}, &g); code != 201 || g.Group.MemberLimit != 10 {
			t.Errorf("%v %v: a new group got %d, member_limit %d, want 201 and the cap 10 (below the default 500)", tc.env, tc.args, code, g.Group.MemberLimit)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if code := apiCall(url, u.token, "PATCH", fmt.Sprintf("/api/groups/%d", g.Group.ID), map[string]any{"member_limit": 11}, &e); code != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "from 2 to 10") {
			t.Errorf("%v %v: member_limit 11: got %d %+v, want 400 invalid naming 2 to 10", tc.env, tc.args, code, e.Error)
		}
		if code := apiCall(url, u.token, "PATCH", fmt.Sprintf("/api/groups/%d", g.Group.ID), map[string]any{"member_limit": 9}, nil); code != 200 {
			t.Errorf("%v %v: member_limit 9: got %d, want 200", tc.env, tc.args, code)
		}
	}
}

// TestSendRateFlag: -send-rate (PARLEY_SEND_RATE) limits what one user may
// post a second, in bursts of three seconds' worth (at least 10); 0 lifts
// the limit; negative or malformed values stop the node at start.
func TestSendRateFlag(t *testing.T) {
	bin := MustBuild(t)
	for _, tc := range []struct {
		args []string
		env  []string
	}{
		{[]string{"-send-rate", "-1"}, nil},
		{[]string{"-send-rate", "NaN"}, nil},
		{nil, []string{"PARLEY_SEND_RATE=fast"}},
	} {
		cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)...)
		cmd.Env = append(cmd.Environ(), tc.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "-send-rate") {
			t.Errorf("parley %v %v: got %v %q, want a failure naming -send-rate", tc.args, tc.env, err, out)
		}
	}
	// Each post is refused by the rules (no such conversation) after the
	// limit let it through; past the burst the limit answers first.
	post := func(url, token string) (int, string) {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		code := apiCall(url, token, "POST", "/api/conversations/999999/messages", map[string]any{"client_id": "c1", "body": "hi"}, &e)
		return code, e.Error.Code
	}
	_, url := MustStart(t, bin, []string{"PARLEY_SEND_RATE=0.5"}, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	u := mustRegister(t, url, "hasty")
	for i := range 10 {
		if code, ec := post(url, u.token); code != 404 || ec != "not_found" {
			t.Fatalf("post %d of a burst of 10: got %d %s, want 404 not_found", i+1, code, ec)
		}
	}
	if code, ec := post(url, u.token); code != 429 || ec != "rate_limited" {
		t.Fatalf("the 11th post at once: got %d %s, want 429 rate_limited", code, ec)
	}
	other := mustRegister(t, url, "patient")
	if code, ec := post(url, other.token); code != 404 {
		t.Fatalf("another user's post: got %d %s, want 404: the limit is per user", code, ec)
	}
	// The flag wins over the variable: 0 is no limit.
	_, url = MustStart(t, bin, []string{"PARLEY_SEND_RATE=0.5"}, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-send-rate", "0")
	u = mustRegister(t, url, "bot")
	for i := range 30 {
		if code, ec := post(url, u.token); code != 404 {
			t.Fatalf("-send-rate 0, post %d: got %d %s, want 404", i+1, code, ec)
		}
	}
}
