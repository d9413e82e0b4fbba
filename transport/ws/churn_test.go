package ws_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// churnTopic is a churn client's view of one topic.
type churnTopic struct {
	state string          // "idle", "live" or "leaving" (unsubscribe sent)
	first bool            // no message seen since the subscribe
	pos   fanout.Position // of the last message applied
}

// churner is one client of TestChurn: it subscribes, unsubscribes, cuts
// its connection and resumes at random, and checks every message against
// the protocol's rules.
type churner struct {
	t      *testing.T
	s      *server
	rng    *rand.Rand
	c      *client
	topics map[string]*churnTopic
	nextID int
}

// apply checks one message against the topic's state.
func (ch *churner) apply(m msg) {
	t := ch.t
	switch m.Type {
	case "subscribed", "unsubscribed":
		return // the caller waits for these
	case "error":
		t.Errorf("unexpected error %s: %s", m.Code, m.Message)
		return
	}
	tp := ch.topics[m.Topic]
	if !assert.NotNil(t, tp, "message of unknown topic %q", m.Topic) {
		return
	}
	switch {
	case tp.state == "idle":
		t.Errorf("%s message of %s after unsubscribed", m.Type, m.Topic)
	case tp.first:
		// The first message: a snapshot (fresh join), an update (resume
		// from history, or a fresh join before the topic had a snapshot)
		// or a reset.
		if m.Type == "update" && tp.pos.Seq > 0 {
			assert.Equal(t, tp.pos.Seq+1, m.Seq, "first update of %s after a resume", m.Topic)
			assert.Equal(t, tp.pos.Epoch, m.Epoch)
		}
		tp.first = false
	default: // the next update
		assert.Equal(t, "update", m.Type, "topic %s: %s seq %d after %v (%s)", m.Topic, m.Type, m.Seq, tp.pos, tp.state)
		assert.Equal(t, tp.pos.Seq+1, m.Seq, "topic %s", m.Topic)
		assert.False(t, m.Gap)
	}
	tp.pos = fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
}

// await reads until the reply with id arrives, applying other messages.
func (ch *churner) await(typ string, id int) {
	for {
		m := ch.c.next()
		if m.ID != nil && *m.ID == int64(id) {
			require.Equal(ch.t, typ, m.Type, "%s %s", m.Code, m.Message)
			return
		}
		ch.apply(m)
	}
}

func (ch *churner) subscribe(name string) {
	tp := ch.topics[name]
	ch.nextID++
	if tp.pos.Seq > 0 {
		ch.c.send(fmt.Sprintf(`{"action":"subscribe","topic":%q,"epoch":%q,"since":%d,"id":%d}`, name, tp.pos.Epoch, tp.pos.Seq, ch.nextID))
	} else {
		ch.c.send(fmt.Sprintf(`{"action":"subscribe","topic":%q,"id":%d}`, name, ch.nextID))
	}
	tp.state, tp.first = "live", true
	ch.await("subscribed", ch.nextID)
}

func (ch *churner) unsubscribe(name string) {
	tp := ch.topics[name]
	ch.nextID++
	ch.c.send(fmt.Sprintf(`{"action":"unsubscribe","topic":%q,"id":%d}`, name, ch.nextID))
	tp.state = "leaving"
	ch.await("unsubscribed", ch.nextID)
	tp.state = "idle"
	tp.pos = fanout.Position{} // a later subscribe starts afresh
}

// reconnect cuts the connection without a close handshake and resumes
// every subscribed topic on a new one.
func (ch *churner) reconnect() {
	_ = ch.c.c.CloseNow()
	ch.c = ch.s.dial(ch.t)
	for name, tp := range ch.topics {
		if tp.state == "idle" {
			continue
		}
		ch.subscribe(name)
	}
}

func (ch *churner) run(topics []string, steps int) {
	for _, name := range topics {
		ch.topics[name] = &churnTopic{state: "idle"}
	}
	for range steps {
		name := topics[ch.rng.IntN(len(topics))]
		switch {
		case ch.rng.IntN(8) == 0:
			ch.reconnect()
		case ch.topics[name].state == "idle":
			ch.subscribe(name)
		default:
			ch.unsubscribe(name)
		}
	}
}

// TestChurn runs clients that subscribe, unsubscribe, drop their
// connection and resume at random while publishers publish: every client
// sees, per topic and subscription, a snapshot or a resumed position, then
// consecutive updates, and nothing after it unsubscribed.
func TestChurn(t *testing.T) {
	t.Parallel()
	const clients, steps, perTopic = 8, 40, 1500
	topics := []string{"c0", "c1", "c2", "c3"}
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{RetainLast: true, HistorySize: perTopic}
	}})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{QueueSize: len(topics) * perTopic})

	var pubs sync.WaitGroup
	for _, name := range topics {
		pubs.Go(func() {
			for i := range perTopic {
				publish(t, hub, name, strconv.Itoa(i))
			}
		})
	}
	var churners sync.WaitGroup
	for i := range clients {
		churners.Go(func() {
			ch := &churner{t: t, s: s, rng: rand.New(rand.NewPCG(uint64(i), 7)), topics: map[string]*churnTopic{}}
			ch.c = s.dial(t)
			ch.run(topics, steps)
		})
	}
	churners.Wait()
	pubs.Wait()
}
