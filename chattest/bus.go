package chattest

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// busWait bounds how long the suite waits for a notice to arrive.
const busWait = 10 * time.Second

// TestBus is the conformance suite for chat.Bus. newBuses returns n buses
// that behave as n nodes of one cluster: a notice published on any of them
// reaches the subscribers of all. It is called once per subtest, must return
// buses that share nothing with those of other calls, and must release them
// with t.Cleanup. An implementation that serves a single node returns one bus
// whatever n is; the subtests that need more nodes are then skipped.
//
// Delivery may be asynchronous: the suite waits up to 10s for notices. Beyond
// the letter of chat.Bus it checks that the calls to one subscriber never
// overlap, which makes "in publish order" meaningful to a subscriber.
func TestBus(t *testing.T, newBuses func(t *testing.T, n int) []chat.Bus) {
	tests := []struct {
		name  string
		nodes int
		fn    func(t *testing.T, buses []chat.Bus)
	}{
		{"Fields", 1, func(t *testing.T, b []chat.Bus) { testBusFields(t, b[0], b[0]) }},
		{"EveryField", 1, func(t *testing.T, b []chat.Bus) { testBusEveryField(t, b[0], b[0]) }},
		{"NothingToPublish", 1, testBusNothingToPublish},
		{"Order", 1, func(t *testing.T, b []chat.Bus) { testBusOrder(t, b[0], b[0]) }},
		{"SeveralSubscribers", 1, testBusSeveralSubscribers},
		{"Cancel", 1, testBusCancel},
		{"LateSubscriber", 1, testBusLateSubscriber},
		{"ConcurrentPublishers", 1, testBusConcurrentPublishers},
		{"FieldsAcrossNodes", 2, func(t *testing.T, b []chat.Bus) { testBusFields(t, b[0], b[1]) }},
		{"EveryFieldAcrossNodes", 2, func(t *testing.T, b []chat.Bus) { testBusEveryField(t, b[0], b[1]) }},
		{"OrderAcrossNodes", 2, func(t *testing.T, b []chat.Bus) { testBusOrder(t, b[0], b[1]) }},
		{"EveryNodeReachesEveryNode", 3, testBusEveryNode},
		{"ConcurrentPublishersAcrossNodes", 3, testBusConcurrentPublishers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buses := newBuses(t, tt.nodes)
			if len(buses) == 0 {
				t.Fatalf("newBuses(%d): got no bus", tt.nodes)
			}
			if len(buses) < tt.nodes {
				t.Skipf("the implementation serves %d node(s); this test needs %d", len(buses), tt.nodes)
			}
			tt.fn(t, buses[:tt.nodes])
		})
	}
}

// busFieldNotices holds a notice for each way the fields can be set.
func busFieldNotices() []chat.Notice {
	hash := func(seed byte) []byte {
		h := make([]byte, 32)
		for i := range h {
			h[i] = seed + byte(i*37)
		}
		h[0], h[31] = 0x00, 0xff
		return h
	}
	many := make([]int64, 1000)
	for i := range many {
		// Unsorted, far apart, and repeated once.
		many[i] = int64((i*7919)%1000)*1_000_003 + 1
	}
	many[999] = many[0]
	big := []byte(`{"type":"message","message":{"body":"` + strings.Repeat("0123456789abcdef", 4096) + `"}}`)
	return []chat.Notice{
		{To: []int64{42}, Frame: []byte(`{"type":"event","event":{"seq":7}}`), EventSeq: 7},
		// The frame goes out as is: white space, key order, escapes and
		// non-ASCII must survive, byte for byte.
		{To: []int64{1, 2, 3}, Frame: []byte("{\n  \"type\": \"message\",  \"b\":1, \"a\": \"h\u00e9llo \\u2603 \u2603 \\\"q\\\" </script>\"\n}\n")},
		{To: []int64{1, 1 << 40, math.MaxInt64, 0, -1, math.MinInt64}, Frame: []byte(`{}`), EventSeq: math.MaxInt64},
		{To: []int64{5}, CloseSessions: [][]byte{hash(1), hash(2)}},
		{To: []int64{9, 8}, Frame: []byte(`{"type":"event"}`), EventSeq: 1, CloseSessions: [][]byte{hash(3)}},
		{To: many, Frame: []byte(`{"type":"message"}`)},
		{To: []int64{77}, Frame: big},
		{},
	}
}

func testBusFields(t *testing.T, pub, sub chat.Bus) {
	rec := newBusRecorder()
	defer sub.Subscribe(rec.fn)()
	want := busFieldNotices()
	mustPublish(t, pub, want...)
	got := rec.wait(t, len(want))
	for i := range want {
		if d := noticeDiff(got[i], want[i]); d != "" {
			t.Errorf("notice %d: %s", i, d)
		}
	}
	rec.checkNoOverlap(t)
}

// testBusEveryField sets every field of chat.Notice, found by reflection, so
// that a field added to chat.Notice and forgotten by a bus fails here: one
// notice with all of them, then one per field.
func testBusEveryField(t *testing.T, pub, sub chat.Bus) {
	typ := reflect.TypeFor[chat.Notice]()
	all := chat.Notice{}
	want := []chat.Notice{{}}
	for i := range typ.NumField() {
		fillField(t, reflect.ValueOf(&all).Elem(), i)
		var one chat.Notice
		fillField(t, reflect.ValueOf(&one).Elem(), i)
		want = append(want, one)
	}
	want[0] = all
	rec := newBusRecorder()
	defer sub.Subscribe(rec.fn)()
	mustPublish(t, pub, want...)
	got := rec.wait(t, len(want))
	for i := range want {
		if d := noticeDiff(got[i], want[i]); d != "" {
			t.Errorf("notice %d: %s", i, d)
		}
	}
}

// fillField sets field i of the struct v to a value that is not zero and
// that a lossy encoding would change.
func fillField(t *testing.T, v reflect.Value, i int) {
	t.Helper()
	f, fv := v.Type().Field(i), v.Field(i)
	switch {
	case fv.Kind() == reflect.Int64 || fv.Kind() == reflect.Int:
		fv.SetInt(math.MaxInt64 - int64(i))
	case fv.Kind() == reflect.String:
		fv.SetString(f.Name + " \u2603 \x00")
	case fv.Kind() == reflect.Bool:
		fv.SetBool(true)
	case fv.Type() == reflect.TypeFor[[]int64]():
		fv.Set(reflect.ValueOf([]int64{int64(i) + 3, 1, math.MaxInt64, 1}))
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8:
		fv.SetBytes([]byte(`{ "field" : "` + f.Name + `",  "x":[1, 2] }`))
	case fv.Type() == reflect.TypeFor[[][]byte]():
		fv.Set(reflect.ValueOf([][]byte{{0, byte(i), 0xff}, []byte(f.Name)}))
	default:
		t.Fatalf("chattest: chat.Notice.%s is a %s, which the Bus suite cannot fill yet: extend fillField", f.Name, f.Type)
	}
}

func testBusNothingToPublish(t *testing.T, buses []chat.Bus) {
	b := buses[0]
	// No subscriber yet: nothing to deliver, and no error. (Whether a
	// subscriber that comes right after sees notice 1 is not specified: on
	// an asynchronous bus it may still be on its way.)
	mustPublish(t, b, seqNotice(0, 1))
	mustPublish(t, b)
	rec := newBusRecorder()
	defer b.Subscribe(rec.fn)()
	mustPublish(t, b)
	mustPublish(t, b, seqNotice(0, 2))
	got := rec.wait(t, 1)
	if last := got[len(got)-1]; last.EventSeq == 1 {
		got = rec.wait(t, 2)
	}
	if last := got[len(got)-1]; last.EventSeq != 2 {
		t.Errorf("last notice: got EventSeq %d, want 2", last.EventSeq)
	}
}

// testBusOrder publishes notices one per call and in batches, and wants them
// in that order.
func testBusOrder(t *testing.T, pub, sub chat.Bus) {
	const total = 1000
	rec := newBusRecorder()
	defer sub.Subscribe(rec.fn)()
	var batch []chat.Notice
	for seq := int64(1); seq <= total; seq++ {
		if seq <= total/2 {
			mustPublish(t, pub, seqNotice(0, seq))
			continue
		}
		batch = append(batch, seqNotice(0, seq))
		if len(batch) == 50 {
			mustPublish(t, pub, batch...)
			batch = nil
		}
	}
	checkSequence(t, "subscriber", rec.wait(t, total), 0, total)
	rec.checkNoOverlap(t)
}

func testBusSeveralSubscribers(t *testing.T, buses []chat.Bus) {
	const total = 100
	b := buses[0]
	recs := make([]*busRecorder, 3)
	for i := range recs {
		recs[i] = newBusRecorder()
		defer b.Subscribe(recs[i].fn)()
	}
	for seq := int64(1); seq <= total; seq++ {
		mustPublish(t, b, seqNotice(0, seq))
	}
	for i, rec := range recs {
		checkSequence(t, fmt.Sprintf("subscriber %d", i), rec.wait(t, total), 0, total)
	}
}

func testBusCancel(t *testing.T, buses []chat.Bus) {
	b := buses[0]
	a, other := newBusRecorder(), newBusRecorder()
	cancelA := b.Subscribe(a.fn)
	cancelOther := b.Subscribe(other.fn)
	mustPublish(t, b, seqNotice(0, 1))
	a.wait(t, 1)
	other.wait(t, 1)

	cancelA()
	cancelA() // a second cancel is harmless
	mustPublish(t, b, seqNotice(0, 2), seqNotice(0, 3))
	// other receives in publish order, so once it has 3, a would have had 2
	// and 3 by now if cancel had not stopped them.
	other.wait(t, 3)
	if got := a.all(); len(got) != 1 {
		t.Errorf("cancelled subscriber: got %d notices, want 1 (those before cancel)", len(got))
	}

	// Cancelling one subscriber leaves the others, and new ones, working.
	late := newBusRecorder()
	defer b.Subscribe(late.fn)()
	cancelOther()
	cancelOther()
	mustPublish(t, b, seqNotice(0, 4))
	if got := late.wait(t, 1); got[0].EventSeq != 4 {
		t.Errorf("subscriber after a cancel: got EventSeq %d, want 4", got[0].EventSeq)
	}
	if got := other.all(); len(got) != 3 {
		t.Errorf("cancelled subscriber: got %d notices, want 3", len(got))
	}
}

func testBusLateSubscriber(t *testing.T, buses []chat.Bus) {
	b := buses[0]
	early := newBusRecorder()
	defer b.Subscribe(early.fn)()
	mustPublish(t, b, seqNotice(0, 1))
	early.wait(t, 1)
	late := newBusRecorder()
	defer b.Subscribe(late.fn)()
	mustPublish(t, b, seqNotice(0, 2))
	early.wait(t, 2)
	got := late.wait(t, 1)
	if got[0].EventSeq != 2 {
		t.Errorf("late subscriber: got EventSeq %d first, want 2 (1 was delivered before it subscribed)", got[0].EventSeq)
	}
}

func testBusEveryNode(t *testing.T, buses []chat.Bus) {
	recs := make([]*busRecorder, len(buses))
	for i, b := range buses {
		recs[i] = newBusRecorder()
		defer b.Subscribe(recs[i].fn)()
	}
	for i, pub := range buses {
		n := seqNotice(int64(i), 1)
		mustPublish(t, pub, n)
		for j, rec := range recs {
			got := rec.wait(t, i+1)
			if d := noticeDiff(got[i], n); d != "" {
				t.Errorf("published on node %d, received on node %d: %s", i, j, d)
			}
		}
	}
}

// testBusConcurrentPublishers publishes from several goroutines spread over
// the buses and wants every notice on every bus, each publisher's in order.
func testBusConcurrentPublishers(t *testing.T, buses []chat.Bus) {
	const publishers, each = 8, 200
	recs := make([]*busRecorder, len(buses))
	for i, b := range buses {
		recs[i] = newBusRecorder()
		defer b.Subscribe(recs[i].fn)()
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			b := buses[p%len(buses)]
			ctx := context.Background()
			for seq := int64(1); seq <= each; {
				// Alternate single notices and batches of three.
				n := []chat.Notice{seqNotice(int64(p), seq)}
				if seq%2 == 0 && seq+2 <= each {
					n = append(n, seqNotice(int64(p), seq+1), seqNotice(int64(p), seq+2))
				}
				if err := b.Publish(ctx, n...); err != nil {
					t.Errorf("publisher %d: Publish: got %v, want nil", p, err)
					return
				}
				seq += int64(len(n))
			}
		})
	}
	wg.Wait()
	for i, rec := range recs {
		got := rec.wait(t, publishers*each)
		byPublisher := make([][]chat.Notice, publishers)
		for _, n := range got {
			if len(n.To) != 1 || n.To[0] < 0 || n.To[0] >= publishers {
				t.Fatalf("node %d: unexpected notice %s", i, formatNotice(n))
			}
			byPublisher[n.To[0]] = append(byPublisher[n.To[0]], n)
		}
		for p, ns := range byPublisher {
			checkSequence(t, fmt.Sprintf("node %d, publisher %d", i, p), ns, int64(p), each)
		}
		rec.checkNoOverlap(t)
	}
}

// seqNotice is the seq-th notice of publisher p: To is [p], EventSeq is seq,
// and the frame says both.
func seqNotice(p, seq int64) chat.Notice {
	return chat.Notice{
		To:       []int64{p},
		EventSeq: seq,
		Frame:    fmt.Appendf(nil, `{"type":"event","publisher":%d,"seq":%d}`, p, seq),
	}
}

// checkSequence wants got to be seqNotice(p, 1) to seqNotice(p, total).
func checkSequence(t *testing.T, who string, got []chat.Notice, p, total int64) {
	t.Helper()
	if int64(len(got)) != total {
		t.Errorf("%s: got %d notices, want %d", who, len(got), total)
		return
	}
	for i, n := range got {
		if d := noticeDiff(n, seqNotice(p, int64(i)+1)); d != "" {
			t.Errorf("%s: notice %d: %s", who, i, d)
			return
		}
	}
}

func mustPublish(t *testing.T, b chat.Bus, notices ...chat.Notice) {
	t.Helper()
	if err := b.Publish(context.Background(), notices...); err != nil {
		t.Fatalf("Publish(%d notices): got %v, want nil", len(notices), err)
	}
}

// noticeDiff describes how got differs from want, or returns "". It compares
// every field, by reflection so that it covers fields added later; nil and
// empty slices are the same.
func noticeDiff(got, want chat.Notice) string {
	if sameValue(reflect.ValueOf(got), reflect.ValueOf(want)) {
		return ""
	}
	return fmt.Sprintf("got %s, want %s", formatNotice(got), formatNotice(want))
}

func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	default:
		return a.Equal(b)
	}
}

// formatNotice shows every field, long ones cut.
func formatNotice(n chat.Notice) string {
	var b strings.Builder
	v := reflect.ValueOf(n)
	b.WriteString("{")
	for i := range v.NumField() {
		if i > 0 {
			b.WriteString(", ")
		}
		f := v.Field(i)
		var s string
		switch {
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
			s = fmt.Sprintf("%q", f.Bytes())
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Slice:
			s = fmt.Sprintf("%x", f.Interface())
		case f.Kind() == reflect.Slice && f.Len() > 8:
			s = fmt.Sprintf("%v...(%d)", f.Slice(0, 8), f.Len())
		default:
			s = fmt.Sprint(f.Interface())
		}
		if len(s) > 120 {
			s = fmt.Sprintf("%s...(%d chars)", s[:120], len(s))
		}
		fmt.Fprintf(&b, "%s: %s", v.Type().Field(i).Name, s)
	}
	b.WriteString("}")
	return b.String()
}

// busRecorder is a subscriber that keeps what it receives.
type busRecorder struct {
	mu  sync.Mutex // guards got
	got []chat.Notice

	inCall  atomic.Int32
	overlap atomic.Bool
	arrived chan struct{} // signalled after each notice; capacity 1
}

func newBusRecorder() *busRecorder {
	return &busRecorder{arrived: make(chan struct{}, 1)}
}

func (r *busRecorder) fn(n chat.Notice) {
	if r.inCall.Add(1) != 1 {
		r.overlap.Store(true)
	}
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
	r.inCall.Add(-1)
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

func (r *busRecorder) all() []chat.Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wait returns the notices received once there are at least n, and fails the
// test if they do not arrive in time.
func (r *busRecorder) wait(t *testing.T, n int) []chat.Notice {
	t.Helper()
	timeout := time.NewTimer(busWait)
	defer timeout.Stop()
	for {
		if got := r.all(); len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-timeout.C:
			t.Fatalf("got %d notices after %v, want %d", len(r.all()), busWait, n)
		}
	}
}

func (r *busRecorder) checkNoOverlap(t *testing.T) {
	t.Helper()
	if r.overlap.Load() {
		t.Errorf("a subscriber was called again before its previous call returned")
	}
}
