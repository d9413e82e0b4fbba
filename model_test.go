package fanout_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
)

// model is a reference implementation of the hub's observable behaviour on
// one goroutine, written for clarity: plain slices and maps, no rings, no
// locks. TestModel checks the real hub against it.
type model struct {
	historySize int
	topics      map[string]*modelTopic
	subs        []*modelSub
}

type modelTopic struct {
	epoch   string
	seq     uint64
	history []uint64 // sequence numbers kept, oldest first
	snap    uint64   // sequence number of the snapshot; 0 when none
	hasSnap bool
}

type modelSub struct {
	topics map[string]bool
	queue  []string // deliveries as "topic kind seq"
}

func (m *model) topic(name string) *modelTopic {
	t := m.topics[name]
	if t == nil {
		t = &modelTopic{}
		m.topics[name] = t
	}
	return t
}

func (m *model) publish(name string, state bool, epoch string) {
	t := m.topic(name)
	t.epoch = epoch
	t.seq++
	t.history = append(t.history, t.seq)
	if len(t.history) > m.historySize {
		t.history = t.history[1:]
	}
	if state {
		t.snap, t.hasSnap = t.seq, true
	}
	for _, s := range m.subs {
		if s.topics[name] {
			s.queue = append(s.queue, fmt.Sprintf("%s u %d", name, t.seq))
		}
	}
}

// join mirrors Subscribe (from == nil) and Resume.
func (m *model) join(s *modelSub, name string, from *fanout.Position) {
	t := m.topic(name)
	s.topics[name] = true
	inHistory := func(seq uint64) bool { return len(t.history) > 0 && t.history[0] <= seq }
	if from != nil && from.Epoch == t.epoch && from.Seq <= t.seq && (from.Seq == t.seq || inHistory(from.Seq+1)) {
		for seq := from.Seq + 1; seq <= t.seq; seq++ {
			s.queue = append(s.queue, fmt.Sprintf("%s u %d", name, seq))
		}
		return
	}
	kind := "s"
	if from != nil {
		kind = "r"
	}
	switch {
	case t.hasSnap:
		s.queue = append(s.queue, fmt.Sprintf("%s %s %d", name, kind, t.snap))
		for seq := t.snap + 1; seq <= t.seq; seq++ { // history always reaches the snapshot in this test
			s.queue = append(s.queue, fmt.Sprintf("%s u %d", name, seq))
		}
	default: // no state: the position alone
		s.queue = append(s.queue, fmt.Sprintf("%s %s %d", name, kind, t.seq))
	}
}

func (m *model) unsubscribe(s *modelSub, name string) {
	delete(s.topics, name)
	kept := s.queue[:0]
	for _, q := range s.queue {
		if q[:len(name)+1] != name+" " {
			kept = append(kept, q)
		}
	}
	s.queue = kept
}

// TestModel drives the hub and the model with the same random operations
// and compares what every subscriber receives.
func TestModel(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) { runModel(t, seed) })
	}
}

func runModel(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	const historySize = 8
	h := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: historySize}
	}})
	m := &model{historySize: historySize, topics: map[string]*modelTopic{}}
	topics := []string{"a", "b", "c"}
	var subs []*fanout.Subscriber
	for range 3 {
		subs = append(subs, newSub(t, h, fanout.SubscriberOptions{QueueSize: 10_000}))
		m.subs = append(m.subs, &modelSub{topics: map[string]bool{}})
	}
	for step := range 400 {
		i := rng.IntN(len(subs))
		s, ms := subs[i], m.subs[i]
		name := topics[rng.IntN(len(topics))]
		switch op := rng.IntN(10); {
		case op < 5:
			state := rng.IntN(4) == 0
			var pos fanout.Position
			var err error
			if state || m.topic(name).hasSnap && m.topic(name).snap+historySize-1 <= m.topic(name).seq {
				// Keep history reaching back to the snapshot, which the
				// model assumes: publish a new state often enough.
				state = true
				pos, err = h.PublishState(name, []byte(`1`), []byte(`1`))
			} else {
				pos, err = h.Publish(name, []byte(`1`))
			}
			require.NoError(t, err)
			m.publish(name, state, pos.Epoch)
		case op < 7:
			if ms.topics[name] {
				require.NoError(t, s.Unsubscribe(name))
				m.unsubscribe(ms, name)
				continue
			}
			require.NoError(t, s.Subscribe(ctx, name))
			m.join(ms, name, nil)
		case op < 8:
			if ms.topics[name] {
				continue
			}
			// Resume around the edges that matter: the oldest message
			// history holds, the head, and another epoch.
			mt := m.topic(name)
			from := fanout.Position{Epoch: mt.epoch}
			edge := int64(mt.seq) - historySize + int64(rng.IntN(5)) - 2
			if rng.IntN(2) == 0 {
				edge = int64(mt.seq) + int64(rng.IntN(3)) - 1
			}
			from.Seq = uint64(max(edge, 0))
			if mt.epoch == "" || rng.IntN(6) == 0 {
				from.Epoch = "other"
			}
			require.NoError(t, s.Resume(ctx, name, from))
			m.join(ms, name, &from)
		default:
			var got []string
			for _, d := range drain(t, s) {
				got = append(got, fmt.Sprintf("%s %c %d", d.Topic, d.Kind.String()[0], d.Seq))
			}
			want := ms.queue
			ms.queue = nil
			require.Equal(t, fmt.Sprint(want), fmt.Sprint(got), "step %d, subscriber %d", step, i)
		}
	}
}
