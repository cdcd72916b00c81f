package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Spawned is a parley process this tool started (-spawn).
type Spawned struct {
	URL      string
	PprofURL string
	PID      int
	cmd      *exec.Cmd
	exited   chan struct{}
	cleanup  []string // directories to remove
}

// buildParley builds cmd/parley into a new temporary directory and returns
// the binary and the directory (to remove when done).
func buildParley(ctx context.Context, logf func(string, ...any)) (bin, dir string, err error) {
	dir, err = os.MkdirTemp("", "parley-bench-bin-")
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "parley")
	logf("building parley into %s", bin)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/parleychat/parley/cmd/parley").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("go build parley: %v\n%s", err, out)
	}
	return bin, dir, nil
}

// spawnServer builds parley (unless bin is given) and starts it on free
// loopback ports with its data in dataDir (a new temporary directory when
// empty) and pprof on. cpus, when set, is a CPU list for taskset.
func spawnServer(ctx context.Context, bin, dataDir, cpus string, logf func(string, ...any)) (*Spawned, error) {
	var built string
	if bin == "" {
		var err error
		if bin, built, err = buildParley(ctx, logf); err != nil {
			return nil, err
		}
	}
	s, err := startNode(ctx, bin, "parley", dataDir, cpus, nil, logf)
	if built != "" {
		if err != nil {
			os.RemoveAll(built)
		} else {
			s.cleanup = append(s.cleanup, built)
		}
	}
	return s, err
}

// startNode starts the parley binary bin on free loopback ports with its
// data in dataDir (a new temporary directory, removed by Stop, when empty),
// pprof on, and extra flags (-db, -bus...); its log lines are prefixed with
// name. It returns once /healthz answers 200.
func startNode(ctx context.Context, bin, name, dataDir, cpus string, extra []string, logf func(string, ...any)) (*Spawned, error) {
	s := &Spawned{exited: make(chan struct{})}
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "parley-bench-data-")
		if err != nil {
			return nil, err
		}
		s.cleanup = append(s.cleanup, dir)
		dataDir = dir
	}
	addr, err := freePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	paddr, err := freePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	args := []string{bin, "-addr", addr, "-data", dataDir, "-log-level", "warn", "-pprof", paddr}
	args = append(args, extra...)
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	s.cmd = exec.Command(args[0], args[1:]...)
	// No send limit: the load is many messages a second from each user. A
	// variable, not the flag, so that a binary older than the limit starts
	// too (-parley, to compare versions).
	s.cmd.Env = append(os.Environ(), "PARLEY_SEND_RATE=0")
	s.cmd.Stdout = os.Stderr
	s.cmd.Stderr = &prefixWriter{prefix: name + ": ", w: os.Stderr}
	// The server must not outlive the tool.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.Stop()
		return nil, err
	}
	s.PID = s.cmd.Process.Pid
	go func() { s.cmd.Wait(); close(s.exited) }()
	s.URL, s.PprofURL = "http://"+addr, "http://"+paddr
	logf("started %s (pid %d) on %s, data in %s, pprof on %s", name, s.PID, s.URL, dataDir, s.PprofURL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			s.Stop()
			return nil, fmt.Errorf("%s exited at start: %v", name, s.cmd.ProcessState)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s did not answer /healthz within 30s", name)
		}
	}
}

// Stop ends the server gracefully (SIGTERM, then SIGKILL after 20 s) and
// removes the temporary directories.
func (s *Spawned) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	for _, d := range s.cleanup {
		os.RemoveAll(d)
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// prefixWriter prefixes each line, so the server's log stands apart.
type prefixWriter struct {
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"model"`
	MemoryGiB int64  `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	// Open-file limits: each connection is a descriptor on both sides.
	ToolFiles   uint64 `json:"tool_nofile"`
	ServerFiles int64  `json:"server_nofile,omitempty"`
}

func describeMachine(serverPID int, toolFiles uint64) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), ToolFiles: toolFiles}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.Model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if kib, err := procStatusKiBFile("/proc/meminfo", "MemTotal:"); err == nil {
		m.MemoryGiB = (kib + 512*1024) >> 20
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	if serverPID > 0 {
		m.ServerFiles, _ = procOpenFilesLimit(serverPID)
	}
	return m
}
