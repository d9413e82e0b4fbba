package ws_test

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func resumeCmd(topic string, pos fanout.Position) string {
	return fmt.Sprintf(`{"action":"subscribe","topic":%q,"epoch":%q,"since":%d}`, topic, pos.Epoch, pos.Seq)
}

// TestResumeAfterCut cuts a connection in the middle of a stream and
// resumes on a new one: every message arrives exactly once, in order.
func TestResumeAfterCut(t *testing.T) {
	t.Parallel()
	const total = 2000
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: total}
	}})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{QueueSize: total})

	c := s.dial(t)
	c.subscribe("live")
	c.joined("live")
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := 1; i <= total; i++ {
			publish(t, hub, "live", strconv.Itoa(i))
		}
	})
	var last fanout.Position
	for last.Seq < total/3 {
		m := c.nextData()
		require.Equal(t, "update", m.Type)
		require.Equal(t, last.Seq+1, m.Seq)
		last = fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
	}
	require.NoError(t, c.c.CloseNow()) // cut, no close handshake

	c2 := s.dial(t)
	c2.send(resumeCmd("live", last))
	for last.Seq < total {
		m := c2.nextData()
		require.Equal(t, "update", m.Type)
		require.Equal(t, last.Epoch, m.Epoch)
		require.Equal(t, last.Seq+1, m.Seq)
		require.Equal(t, strconv.FormatUint(m.Seq, 10), string(m.Data))
		last.Seq = m.Seq
	}
	pub.Wait()
}

// TestResetAfterRestart resumes on a new hub (a restart lost the history):
// the client gets a reset with the new epoch and the snapshot.
func TestResetAfterRestart(t *testing.T) {
	t.Parallel()
	s1 := newServer(t, nil, ws.Options{})
	c := s1.dial(t)
	c.subscribe("game:9")
	require.Equal(t, "subscribed", c.next().Type)
	publish(t, s1.hub, "game:9", `{"n":1}`)
	publish(t, s1.hub, "game:9", `{"n":2}`)
	c.next()
	m := c.next()
	old := fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
	require.NoError(t, s1.hub.Close())

	s2 := newServer(t, nil, ws.Options{})
	_, err := s2.hub.PublishState("game:9", []byte(`{"n":1}`), []byte(`{"state":1}`))
	require.NoError(t, err)
	c2 := s2.dial(t)
	c2.send(resumeCmd("game:9", old))
	m = c2.nextData()
	assert.Equal(t, "reset", m.Type)
	assert.NotEqual(t, old.Epoch, m.Epoch)
	assert.EqualValues(t, 1, m.Seq)
	assert.JSONEq(t, `{"state":1}`, string(m.Data))
	publish(t, s2.hub, "game:9", `{"n":2}`)
	m2 := c2.nextData()
	assert.Equal(t, "update", m2.Type)
	assert.Equal(t, m.Epoch, m2.Epoch)
	assert.EqualValues(t, 2, m2.Seq)
}

// TestManyConnections serves 200 connections at once.
func TestManyConnections(t *testing.T) {
	t.Parallel()
	const conns, msgs = 200, 20
	s := newServer(t, nil, ws.Options{})
	clients := make([]*client, conns)
	for i := range clients {
		clients[i] = s.dial(t)
		clients[i].subscribe("all")
	}
	for _, c := range clients {
		c.joined("all")
	}
	require.Equal(t, conns, s.h.Len())
	for i := 1; i <= msgs; i++ {
		publish(t, s.hub, "all", strconv.Itoa(i))
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for i := 1; i <= msgs; i++ {
				m, err := c.tryNext(ctxT(t))
				if !assert.NoError(t, err) || !assert.EqualValues(t, i, m.Seq) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestIdleGoroutines checks that an idle connection holds exactly one
// goroutine on the server, its reading loop, once its writer is done. The
// test clients do not read, so they hold none. Not parallel: it counts the
// process's goroutines.
func TestIdleGoroutines(t *testing.T) {
	const conns = 20
	s := newServer(t, nil, ws.Options{})
	base := steadyGoroutines(t, -1)
	for range conns {
		c := s.dial(t)
		c.subscribe("idle")
		require.Equal(t, "subscribed", c.next().Type)
	}
	publish(t, s.hub, "idle", `1`) // starts every writer once more
	assert.Equal(t, base+conns, steadyGoroutines(t, base+conns), "goroutines held by %d idle connections", conns)
}

// steadyGoroutines polls runtime.NumGoroutine until it equals want, or
// until it has not changed for 20 polls in a row when want is negative (so
// that goroutines of earlier tests have ended), and returns the last count.
// It polls on this goroutine: require.Eventually runs its condition on
// another one, which NumGoroutine would count.
func steadyGoroutines(t *testing.T, want int) int {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	n, same := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(testTimeout); time.Now().Before(deadline); <-tick.C {
		m := runtime.NumGoroutine()
		if m == want || want < 0 && m == n && same >= 20 {
			return m
		}
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// TestConflate: with OverflowConflate a client that falls behind on a
// conflated topic gets the newest messages marked with gap, and stays
// connected.
func TestConflate(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{Conflate: true, RetainLast: true}
	}})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{QueueSize: 4, Overflow: fanout.OverflowConflate})
	c := s.dial(t)
	c.subscribe("px")
	c.joined("px")

	// The client does not read until the socket buffers are full and
	// messages are conflated (bounded like TestSlowConsumer).
	payload := `"` + strings.Repeat("x", 16<<10) + `"`
	var total uint64
	for hub.Stats().Dropped == 0 {
		require.Less(t, total, uint64(2000), "nothing was conflated")
		total = publish(t, hub, "px", payload).Seq
	}
	total = publish(t, hub, "px", `"last"`).Seq
	var last uint64
	gaps := 0
	for last < total {
		m := c.nextData()
		require.Equal(t, "update", m.Type)
		require.Greater(t, m.Seq, last)
		if m.Seq != last+1 {
			require.True(t, m.Gap, "a hole is marked: %d after %d", m.Seq, last)
			gaps++
		}
		last = m.Seq
	}
	assert.Positive(t, gaps)
	assert.Equal(t, 1, s.h.Len())
	assert.Zero(t, hub.Stats().SlowConsumers)
}

// TestFreshJoinGivesAPosition: a subscribe to a topic without state is
// answered with a snapshot without data at the topic's head, so that a
// client cut before the topic's first update still resumes without loss.
func TestFreshJoinGivesAPosition(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	publish(t, s.hub, "quiet", `1`) // a head, but no snapshot
	c := s.dial(t)
	c.subscribe("quiet")
	snap := c.joined("quiet")
	assert.Equal(t, "null", string(snap.Data))
	assert.EqualValues(t, 1, snap.Seq, "the snapshot carries the head")
	require.NoError(t, c.c.CloseNow())

	publish(t, s.hub, "quiet", `2`) // while the client is away
	c2 := s.dial(t)
	c2.send(resumeCmd("quiet", fanout.Position{Epoch: snap.Epoch, Seq: snap.Seq}))
	m := c2.nextData()
	assert.Equal(t, "update", m.Type)
	assert.Equal(t, snap.Epoch, m.Epoch)
	assert.EqualValues(t, 2, m.Seq)
	assert.Equal(t, "2", string(m.Data))
}
