// Package s3blobtest runs a real S3-compatible server for tests: Versity's
// S3 gateway (versitygw) on a temporary folder, started as a separate
// process on 127.0.0.1. Tests import it; nothing else does.
//
// The binary is found as $PARLEY_VERSITYGW, else versitygw on the PATH, else
// in $GOBIN or GOPATH/bin, where
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// puts it (.ci/run does). Without it a test fails when CI is set and skips
// otherwise.
package s3blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Version is the versitygw release the tests are run with.
const Version = "v1.8.0"

// Gateway is a running versitygw.
type Gateway struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Client    *minio.Client
}

// Env is the environment that gives a process the gateway's credentials
// (s3blob.Open reads them from there).
func (g *Gateway) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + g.AccessKey, "AWS_SECRET_ACCESS_KEY=" + g.SecretKey}
}

// URL is the s3:// URL of a bucket on the gateway, for s3blob.Open and
// parley -blobs.
func (g *Gateway) URL(bucket string) string {
	return "s3://" + bucket + "?endpoint=" + g.Endpoint + "&region=us-east-1"
}

var skipNotice sync.Once

// binary returns the path of versitygw, or "".
func binary() string {
	if p := os.Getenv("PARLEY_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if dir := os.Getenv("GOBIN"); dir != "" {
		if p := filepath.Join(dir, "versitygw"); fileExists(p) {
			return p
		}
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		if p := filepath.Join(dir, "bin", "versitygw"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// MustStart runs versitygw on a temporary folder until the test ends.
func MustStart(tb testing.TB) *Gateway {
	tb.Helper()
	bin := binary()
	if bin == "" {
		msg := "versitygw is not installed; run: go install github.com/versity/versitygw/cmd/versitygw@" + Version
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s (CI is set, so the S3 tests must not skip)", msg)
		}
		skipNotice.Do(func() { fmt.Fprintf(os.Stderr, "\n*** S3 tests SKIPPED: %s ***\n\n", msg) })
		tb.Skip(msg)
	}
	g := &Gateway{AccessKey: "parleytest", SecretKey: rand.Text()}
	root := tb.TempDir()
	var lastErr error
	for range 3 { // a port picked free may be taken before versitygw binds it
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var out bytes.Buffer
		cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", root)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+g.AccessKey, "ROOT_SECRET_KEY="+g.SecretKey)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("starting %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if lastErr = waitListening(addr, exited); lastErr == nil {
			tb.Cleanup(func() { cmd.Process.Kill(); <-exited })
			g.Endpoint = "http://" + addr
			break
		}
		cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%w; its output:\n%s", lastErr, out.String())
	}
	if g.Endpoint == "" {
		tb.Fatalf("versitygw did not start: %v", lastErr)
	}
	client, err := minio.New(strings.TrimPrefix(g.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""), Region: "us-east-1",
	})
	if err != nil {
		tb.Fatal(err)
	}
	g.Client = client
	return g
}

// MustBucket creates a new, empty bucket.
func (g *Gateway) MustBucket(tb testing.TB) string {
	tb.Helper()
	name := "parley-" + strings.ToLower(rand.Text()[:16])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		tb.Fatalf("creating bucket %s: %v", name, err)
	}
	return name
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts connections, the process exits, or
// 20 seconds pass.
func waitListening(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("versitygw on %s exited", addr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw on %s did not listen within 20s", addr)
}
