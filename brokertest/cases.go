package brokertest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
)

func publish(t *testing.T, b fanout.Broker, topic string, data, state []byte, retainLast bool) fanout.Position {
	t.Helper()
	pos, err := b.Publish(ctx(t), topic, data, state, retainLast)
	if err != nil {
		t.Fatalf("publish %q: %v", topic, err)
	}
	return pos
}

func subscribe(t *testing.T, b fanout.Broker, topic string) {
	t.Helper()
	if err := b.Subscribe(ctx(t), topic); err != nil {
		t.Fatalf("subscribe %q: %v", topic, err)
	}
}

func recoverTopic(t *testing.T, b fanout.Broker, topic string, after fanout.Position, limit int) fanout.Recovery {
	t.Helper()
	rec, err := b.Recover(ctx(t), topic, after, limit)
	if err != nil {
		t.Fatalf("recover %q after %v: %v", topic, after, err)
	}
	return rec
}

// checkMessages checks that msgs are the messages first..last of topic in
// epoch, with the data payload(seq).
func checkMessages(t *testing.T, msgs []*fanout.Message, topic, epoch string, first, last uint64) {
	t.Helper()
	if want := int(last - first + 1); first > last && len(msgs) != 0 || first <= last && len(msgs) != want {
		t.Fatalf("%d messages, want %d..%d", len(msgs), first, last)
	}
	for i, m := range msgs {
		seq := first + uint64(i)
		if m.Topic != topic || m.Epoch != epoch || m.Seq != seq || !bytes.Equal(m.Data, payload(seq)) {
			t.Fatalf("message %d is %s %v %q, want %s %s:%d %q", i, m.Topic, m.Position(), m.Data, topic, epoch, seq, payload(seq))
		}
	}
}

func payload(seq uint64) []byte { return fmt.Appendf(nil, `{"n":%d}`, seq) }

func testPublishSequence(t *testing.T, be Backend) {
	b, _ := be.node(t)
	var epoch string
	for seq := uint64(1); seq <= 3; seq++ {
		pos := publish(t, b, "seq.a", payload(seq), nil, false)
		if seq == 1 {
			epoch = pos.Epoch
		}
		if pos.Epoch == "" || pos.Epoch != epoch || pos.Seq != seq {
			t.Fatalf("publish %d got position %v, want %s:%d with a stable, non-empty epoch", seq, pos, epoch, seq)
		}
	}
	if pos := publish(t, b, "seq.b", payload(1), nil, false); pos.Seq != 1 {
		t.Fatalf("first publish on another topic got %v, want seq 1", pos)
	}
	if rec := recoverTopic(t, b, "seq.a", fanout.Position{}, 0); rec.Head != (fanout.Position{Epoch: epoch, Seq: 3}) {
		t.Fatalf("head %v, want %s:3", rec.Head, epoch)
	}
	if err := b.Health(); err != nil {
		t.Fatalf("a working broker reports %v", err)
	}
}

func testSubscribeDelivers(t *testing.T, be Backend) {
	b, r := be.node(t)
	subscribe(t, b, "deliver")
	type sent struct {
		state      []byte
		retainLast bool
	}
	var want []sent
	for seq := uint64(1); seq <= 20; seq++ {
		s := sent{retainLast: seq%7 == 0}
		if seq%5 == 0 {
			s = sent{state: fmt.Appendf(nil, `{"state":%d}`, seq)}
		}
		want = append(want, s)
		publish(t, b, "deliver", payload(seq), s.state, s.retainLast)
	}
	got := r.waitSeq(t, "deliver", 20)
	checkMessages(t, messages(got), "deliver", got[0].Epoch, 1, 20)
	for i, p := range got {
		if !bytes.Equal(p.State, want[i].state) || p.RetainLast != want[i].retainLast {
			t.Fatalf("publication %d has state %q retainLast %v, want %q %v", p.Seq, p.State, p.RetainLast, want[i].state, want[i].retainLast)
		}
	}
}

func messages(pubs []fanout.Publication) []*fanout.Message {
	msgs := make([]*fanout.Message, len(pubs))
	for i, p := range pubs {
		msgs[i] = p.Message
	}
	return msgs
}

func testSubscribeIdempotent(t *testing.T, be Backend) {
	b, r := be.node(t)
	subscribe(t, b, "twice")
	subscribe(t, b, "twice")
	for seq := uint64(1); seq <= 2; seq++ {
		publish(t, b, "twice", payload(seq), nil, false)
	}
	r.waitSeq(t, "twice", 2)
	pos := publish(t, b, "twice", payload(3), nil, false)
	got := r.waitSeq(t, "twice", 3)
	checkMessages(t, messages(got), "twice", pos.Epoch, 1, 3)
}

func testUnsubscribe(t *testing.T, be Backend) {
	b, r := be.node(t)
	if err := b.Unsubscribe(ctx(t), "never"); err != nil {
		t.Fatalf("unsubscribe from a topic never subscribed: %v", err)
	}
	subscribe(t, b, "unsub")
	publish(t, b, "unsub", payload(1), nil, false)
	r.waitSeq(t, "unsub", 1)
	if err := b.Unsubscribe(ctx(t), "unsub"); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	publish(t, b, "unsub", payload(2), nil, false)
	subscribe(t, b, "unsub")
	publish(t, b, "unsub", payload(3), nil, false)
	got := r.waitSeq(t, "unsub", 3)
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 {
		t.Fatalf("received %d publications (%v...), want 1 and 3: 2 was published while unsubscribed", len(got), got[0].Position())
	}
}

func testRecoverUnknownTopic(t *testing.T, be Backend) {
	b, _ := be.node(t)
	rec := recoverTopic(t, b, "unknown", fanout.Position{}, 10)
	if rec.Head.Epoch == "" || rec.Head.Seq != 0 || rec.Snapshot != nil || len(rec.Messages) != 0 {
		t.Fatalf("unknown topic recovers as %+v, want a fresh epoch, seq 0, nothing else", rec)
	}
	if again := recoverTopic(t, b, "unknown", fanout.Position{}, 10); again.Head != rec.Head {
		t.Fatalf("the epoch of an unknown topic changed from %v to %v", rec.Head, again.Head)
	}
	if pos := publish(t, b, "unknown", payload(1), nil, false); pos != (fanout.Position{Epoch: rec.Head.Epoch, Seq: 1}) {
		t.Fatalf("first publish at %v, want %s:1, in the epoch Recover announced", pos, rec.Head.Epoch)
	}
}

func testRecoverHistory(t *testing.T, be Backend) {
	b, _ := be.node(t)
	var epoch string
	for seq := uint64(1); seq <= 5; seq++ {
		epoch = publish(t, b, "hist", payload(seq), nil, false).Epoch
	}
	head := fanout.Position{Epoch: epoch, Seq: 5}
	for _, c := range []struct {
		after       fanout.Position
		limit       int
		first, last uint64
	}{
		{fanout.Position{}, 100, 1, 5},
		{fanout.Position{Epoch: epoch}, 100, 1, 5},
		{fanout.Position{Epoch: epoch, Seq: 2}, 100, 3, 5},
		{fanout.Position{Epoch: epoch, Seq: 2}, 2, 4, 5},
		{fanout.Position{Epoch: epoch, Seq: 5}, 100, 1, 0},
		{fanout.Position{Epoch: "other", Seq: 2}, 100, 1, 0},
	} {
		rec := recoverTopic(t, b, "hist", c.after, c.limit)
		if rec.Head != head {
			t.Fatalf("recover after %v: head %v, want %v", c.after, rec.Head, head)
		}
		checkMessages(t, rec.Messages, "hist", epoch, c.first, c.last)
	}
}

func testRecoverSnapshot(t *testing.T, be Backend) {
	b, _ := be.node(t)
	publish(t, b, "snap", payload(1), nil, false)
	if rec := recoverTopic(t, b, "snap", fanout.Position{}, 0); rec.Snapshot != nil {
		t.Fatalf("snapshot %q after a plain publish, want none", rec.Snapshot.Data)
	}
	state := []byte(`{"state":2}`)
	pos := publish(t, b, "snap", payload(2), state, false)
	checkSnapshot := func(want fanout.Position, data []byte) {
		t.Helper()
		s := recoverTopic(t, b, "snap", fanout.Position{}, 0).Snapshot
		if s == nil || s.Topic != "snap" || s.Position() != want || !bytes.Equal(s.Data, data) {
			t.Fatalf("snapshot %+v, want %v %q", s, want, data)
		}
	}
	checkSnapshot(pos, state)
	publish(t, b, "snap", payload(3), nil, false)
	checkSnapshot(pos, state)
	pos = publish(t, b, "snap", payload(4), nil, true)
	checkSnapshot(pos, payload(4))
}

func testHistoryLimit(t *testing.T, be Backend) {
	if be.HistorySize <= 0 {
		t.Skip("Backend.HistorySize is not set")
	}
	b, _ := be.node(t)
	n := uint64(be.HistorySize + 5)
	var epoch string
	for seq := uint64(1); seq <= n; seq++ {
		epoch = publish(t, b, "limit", payload(seq), nil, false).Epoch
	}
	rec := recoverTopic(t, b, "limit", fanout.Position{Epoch: epoch, Seq: 1}, be.HistorySize+100)
	checkMessages(t, rec.Messages, "limit", epoch, n-uint64(be.HistorySize)+1, n)
}

func testIndependentTopics(t *testing.T, be Backend) {
	b, r := be.node(t)
	subscribe(t, b, "ind.a")
	var last fanout.Position
	for seq := uint64(1); seq <= 5; seq++ {
		last = publish(t, b, "ind.a", payload(seq), nil, false)
		if pos := publish(t, b, "ind.b", payload(seq), nil, false); pos.Seq != seq {
			t.Fatalf("ind.b publish %d got %v", seq, pos)
		}
	}
	if last.Seq != 5 {
		t.Fatalf("ind.a head %v, want seq 5", last)
	}
	// ind.b's messages must not reach a node subscribed to ind.a only.
	subscribe(t, b, "ind.b")
	pos := publish(t, b, "ind.b", payload(6), nil, false)
	r.waitSeq(t, "ind.b", 6)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pubs {
		if p.Topic == "ind.b" && p.Seq != pos.Seq {
			t.Fatalf("received ind.b %v while subscribed to ind.a only", p.Position())
		}
	}
}

func testConcurrentPublishers(t *testing.T, be Backend) {
	const publishers, each = 4, 50
	b, r := be.node(t)
	subscribe(t, b, "conc")
	var (
		mu   sync.Mutex
		seen = make(map[uint64]string)
		wg   sync.WaitGroup
	)
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				data := fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i)
				pos, err := b.Publish(ctx(t), "conc", data, nil, false)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if _, dup := seen[pos.Seq]; dup {
					errs <- fmt.Errorf("position %v assigned twice", pos)
				}
				seen[pos.Seq] = string(data)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := r.waitSeq(t, "conc", publishers*each)
	if len(got) != publishers*each {
		t.Fatalf("received %d publications, want %d", len(got), publishers*each)
	}
	for i, p := range got {
		if p.Seq != uint64(i+1) || p.Epoch != got[0].Epoch || string(p.Data) != seen[p.Seq] {
			t.Fatalf("publication %d is %v %q, want seq %d %q", i, p.Position(), p.Data, i+1, seen[uint64(i+1)])
		}
	}
}

func testTwoNodes(t *testing.T, be Backend) {
	a, ra := be.node(t)
	b, rb := be.node(t)
	subscribe(t, a, "two")
	subscribe(t, b, "two")
	var last fanout.Position
	for seq := uint64(1); seq <= 10; seq++ {
		node := a
		if seq%2 == 0 {
			node = b
		}
		last = publish(t, node, "two", payload(seq), nil, false)
		if last.Seq != seq {
			t.Fatalf("publish %d on node %d got %v", seq, 1+seq%2, last)
		}
	}
	for _, r := range []*recorder{ra, rb} {
		checkMessages(t, messages(r.waitSeq(t, "two", 10)), "two", last.Epoch, 1, 10)
	}
	if rec := recoverTopic(t, b, "two", fanout.Position{}, 0); rec.Head != last {
		t.Fatalf("the other node sees head %v, want %v", rec.Head, last)
	}
}

// testSubscribedBeforeReturn checks that Subscribe returns only once the
// subscription is in place: a publication another node stores right after
// it returns is delivered.
func testSubscribedBeforeReturn(t *testing.T, be Backend) {
	a, _ := be.node(t)
	b, r := be.node(t)
	const topics = 50
	for i := range topics {
		topic := "early." + strconv.Itoa(i)
		subscribe(t, b, topic)
		publish(t, a, topic, payload(1), nil, false)
	}
	for i := range topics {
		r.waitSeq(t, "early."+strconv.Itoa(i), 1)
	}
}

func testDataLoss(t *testing.T, be Backend) {
	if be.Flush == nil {
		t.Skip("Backend.Flush is not set")
	}
	b, r := be.node(t)
	subscribe(t, b, "loss")
	old := publish(t, b, "loss", payload(1), []byte(`{}`), false)
	r.waitSeq(t, "loss", 1)
	be.Flush(t)
	rec := recoverTopic(t, b, "loss", fanout.Position{}, 10)
	if rec.Head.Epoch == old.Epoch || rec.Head.Seq != 0 || rec.Snapshot != nil || len(rec.Messages) != 0 {
		t.Fatalf("after data loss the topic recovers as %+v, want a new epoch at seq 0 and nothing else", rec)
	}
	pos := publish(t, b, "loss", payload(1), nil, false)
	if pos != (fanout.Position{Epoch: rec.Head.Epoch, Seq: 1}) {
		t.Fatalf("publish after data loss got %v, want %s:1", pos, rec.Head.Epoch)
	}
	r.wait(t, "the publication in the new epoch", func() bool {
		n := len(r.pubs)
		return n > 0 && r.pubs[n-1].Position() == pos
	})
}

func testOutage(t *testing.T, be Backend) {
	if be.SetDown == nil {
		t.Skip("Backend.SetDown is not set")
	}
	b, r := be.node(t)
	subscribe(t, b, "outage")
	publish(t, b, "outage", payload(1), nil, false)
	r.waitSeq(t, "outage", 1)

	be.SetDown(t, true)
	up := false
	defer func() {
		if !up {
			be.SetDown(t, false)
		}
	}()
	eventually(t, "Health to report the outage", func() bool { return b.Health() != nil })
	short, cancel := context.WithTimeout(t.Context(), time.Second)
	_, err := b.Publish(short, "outage", payload(2), nil, false)
	cancel()
	if err == nil {
		t.Fatal("publish succeeded while the broker was down")
	}

	be.SetDown(t, false)
	up = true
	eventually(t, "Health to recover", func() bool { return b.Health() == nil })
	r.wait(t, "Reconnected", func() bool { return r.reconnects > 0 })
	var pos fanout.Position
	eventually(t, "a publish to succeed", func() bool {
		var err error
		pos, err = b.Publish(ctx(t), "outage", payload(2), nil, false)
		return err == nil
	})
	r.waitSeq(t, "outage", pos.Seq)
}

func testClose(t *testing.T, be Backend) {
	b := be.Connect(t)
	b.Bind(newRecorder())
	subscribe(t, b, "close")
	for range 2 {
		if err := b.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
	if _, err := b.Publish(ctx(t), "close", payload(1), nil, false); err == nil {
		t.Fatal("publish on a closed broker succeeded")
	}
}
