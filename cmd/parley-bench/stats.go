package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Histogram records durations in microseconds with about 1.5% precision
// (exact below 128 µs, then 64 buckets per power of two). Record is safe for concurrent use and
// never allocates, so every receiver can share one.
type Histogram struct {
	counts [58 * 64]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func bucketOf(v uint64) int {
	if v < 128 {
		return int(v)
	}
	shift := bits.Len64(v) - 7
	return shift*64 + int(v>>shift)
}

// bucketValue is the middle of a bucket, in microseconds.
func bucketValue(i int) float64 {
	if i < 128 {
		return float64(i)
	}
	shift := i/64 - 1
	lo := uint64(i-shift*64) << shift
	return float64(lo) + float64(uint64(1)<<shift)/2
}

// Record adds one duration; negative ones (clock skew cannot happen on one
// machine, but a bug could) count as zero.
func (h *Histogram) Record(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[bucketOf(uint64(us))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// Count is how many durations were recorded.
func (h *Histogram) Count() int64 { return h.n.Load() }

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	N   int64   `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Percentiles summarises the histogram; nil when it is empty.
func (h *Histogram) Percentiles() *Percentiles {
	n := h.n.Load()
	if n == 0 {
		return nil
	}
	p := &Percentiles{N: n, Max: float64(h.max.Load()) / 1000}
	targets := []struct {
		q   float64
		out *float64
	}{{0.50, &p.P50}, {0.90, &p.P90}, {0.99, &p.P99}}
	var seen int64
	t := 0
	for i := range h.counts {
		seen += h.counts[i].Load()
		for t < len(targets) && float64(seen) >= targets[t].q*float64(n) {
			*targets[t].out = min(bucketValue(i)/1000, p.Max)
			t++
		}
	}
	return p
}

// seqSet is a set of sequence numbers (a bitset): which messages of a
// conversation a client holds, or which were acknowledged.
type seqSet struct {
	words []uint64
}

// add inserts seq and reports whether it was new.
func (s *seqSet) add(seq int64) bool {
	if seq <= 0 {
		return false
	}
	w := int(seq >> 6)
	if w >= len(s.words) {
		s.words = append(s.words, make([]uint64, w+1-len(s.words)+len(s.words)/2)...)
	}
	bit := uint64(1) << (seq & 63)
	if s.words[w]&bit != 0 {
		return false
	}
	s.words[w] |= bit
	return true
}

func (s *seqSet) has(seq int64) bool {
	w := int(seq >> 6)
	return seq > 0 && w < len(s.words) && s.words[w]&(uint64(1)<<(seq&63)) != 0
}

// missingFrom counts the members of want that s lacks.
func (s *seqSet) missingFrom(want *seqSet) int64 {
	var n int64
	for i, w := range want.words {
		var have uint64
		if i < len(s.words) {
			have = s.words[i]
		}
		n += int64(bits.OnesCount64(w &^ have))
	}
	return n
}

// clone copies the set.
func (s *seqSet) clone() *seqSet {
	return &seqSet{words: append([]uint64(nil), s.words...)}
}

// ProcStat is a process's CPU time and resident memory.
type ProcStat struct {
	CPU time.Duration
	RSS int64 // bytes
}

// clockTicks is USER_HZ, which Linux fixes at 100 on every architecture Go
// supports for the values in /proc/PID/stat.
const clockTicks = 100

// readProcStat reads utime+stime from /proc/PID/stat and VmRSS from
// /proc/PID/status.
func readProcStat(pid int) (ProcStat, error) {
	var st ProcStat
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name may hold spaces; the fields after it start past ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return st, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	st.CPU = time.Duration(ut+stime) * time.Second / clockTicks
	st.RSS, err = procStatusKiBFile(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	st.RSS *= 1024
	return st, err
}

// procStatusKiBFile reads a "kB" line of /proc/PID/status or /proc/meminfo.
func procStatusKiBFile(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			fields := strings.Fields(v)
			if len(fields) > 0 {
				return strconv.ParseInt(fields[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

// procOpenFilesLimit reads the soft "Max open files" of a process.
func procOpenFilesLimit(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no open files limit for %d", pid)
}

// selfCPU is this process's user+system CPU time (getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit lifts RLIMIT_NOFILE as far as allowed: the hard limit to
// want when the process may (CAP_SYS_RESOURCE), the soft limit to the hard
// one. It returns the soft limit in force.
func raiseFileLimit(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Max < want {
		up := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return want
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	return lim.Cur
}

// Snapshot is the state of the server and of this tool at one instant; the
// difference of two makes a result's resource columns.
type Snapshot struct {
	At      time.Time
	Server  ProcStat
	HaveSrv bool
	Tool    time.Duration
	Machine time.Duration // CPU time of the whole machine (all processes)
	// Infra is the CPU time of the PostgreSQL and NATS server processes
	// (when measured; see infraCPU).
	Infra     time.Duration
	HaveInfra bool
}

// snapshot reads the tool and the server processes pids (0s are ignored):
// their CPU and RSS are summed, as for the nodes of a cluster.
func snapshot(pids ...int) Snapshot {
	s := Snapshot{At: time.Now(), Tool: selfCPU(), Machine: machineBusy()}
	n, ok := 0, true
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		n++
		st, err := readProcStat(pid)
		if err != nil {
			ok = false
			continue
		}
		s.Server.CPU += st.CPU
		s.Server.RSS += st.RSS
	}
	s.HaveSrv = n > 0 && ok
	return s
}

// machineBusy is the CPU time all processes have used since boot, from the
// first line of /proc/stat (user nice system idle iowait irq softirq
// steal...), so that a result can say how much else ran meanwhile.
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:8] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// infraCPU sums the CPU time of the processes named postgres or
// nats-server: the database and bus a cluster of nodes shares. It is
// approximate: a PostgreSQL backend that exits between two readings takes
// its time with it, and the servers also serve whoever else uses them.
func infraCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, d := range dirs {
		name := d.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		raw, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		open, close := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || close < open {
			continue
		}
		if comm := string(raw[open+1 : close]); comm != "postgres" && comm != "nats-server" {
			continue
		}
		f := strings.Fields(string(raw[close+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * time.Second / clockTicks
	}
	return total
}
