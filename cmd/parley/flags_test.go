package main_test

import (
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
