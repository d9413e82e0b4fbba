package client_test

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotThenUpdates(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{})
	_, err := hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))
	require.NoError(t, err)

	c := dial(t, s.url, client.Options{})
	require.NoError(t, c.Subscribe("game:1"))
	m := next(t, c)
	assert.Equal(t, fanout.Snapshot, m.Kind)
	assert.Equal(t, uint64(1), m.Seq)
	assert.JSONEq(t, `{"score":"0-0"}`, string(m.Data))
	epoch := m.Epoch

	for i := 2; i <= 5; i++ {
		_, err := hub.Publish("game:1", []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}
	for i := 2; i <= 5; i++ {
		m := next(t, c)
		assert.Equal(t, client.Message{Kind: fanout.Update, Topic: "game:1", Epoch: epoch, Seq: uint64(i), Data: []byte(strconv.Itoa(i))}, m)
	}
	pos, ok := c.Position("game:1")
	require.True(t, ok)
	assert.Equal(t, fanout.Position{Epoch: epoch, Seq: 5}, pos)

	// A pretty-printed payload still travels as one line per message.
	_, err = hub.Publish("game:1", []byte("{\n  \"event\": \"goal\"\n}\n"))
	require.NoError(t, err)
	m = next(t, c)
	assert.Equal(t, uint64(6), m.Seq)
	assert.JSONEq(t, `{"event":"goal"}`, string(m.Data))
	assert.NotContains(t, string(m.Data), "\n")

	require.ErrorIs(t, c.Subscribe("game:1"), fanout.ErrSubscribed)
	require.ErrorIs(t, c.Subscribe("bad topic"), fanout.ErrInvalidTopic)
	require.ErrorIs(t, c.Unsubscribe("nope"), fanout.ErrNotSubscribed)
}

// publishAhead publishes topic's seqs from..to, staying at most window
// ahead of what the consumer acknowledged, until stop is closed.
type publishAhead struct {
	acked    atomic.Uint64
	progress chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startPublisher(t *testing.T, hub *fanout.Hub, topic string, from, to, window uint64) *publishAhead {
	p := &publishAhead{progress: make(chan struct{}, 1), stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for seq := from; seq <= to; seq++ {
			for seq > p.acked.Load()+window {
				select {
				case <-p.progress:
				case <-p.stop:
					return
				}
			}
			if _, err := hub.Publish(topic, []byte(strconv.FormatUint(seq, 10))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(p.stop)
		p.wg.Wait()
	})
	return p
}

func (p *publishAhead) ack(seq uint64) {
	p.acked.Store(seq)
	select {
	case p.progress <- struct{}{}:
	default:
	}
}

// testEveryOnce publishes n messages while interrupt ends the connections
// at the given seqs, and checks that the client delivers 1..n exactly
// once, in order, with no reset and no gap.
func testEveryOnce(t *testing.T, interrupt func(*server), at ...uint64) *states {
	const n, window = 2000, 150
	hub := newHub(t, n)
	s := newServer(t, hub, ws.Options{})
	_, err := hub.PublishState("feed", []byte(`1`), []byte(`1`))
	require.NoError(t, err)
	st := newStates()
	c := dial(t, s.url, client.Options{OnState: st.on})
	require.NoError(t, c.Subscribe("feed"))
	pub := startPublisher(t, hub, "feed", 2, n, window)

	cut := make(map[uint64]bool)
	for _, seq := range at {
		cut[seq] = true
	}
	var epoch string
	for want := uint64(1); want <= n; want++ {
		m := next(t, c)
		require.Equal(t, want, m.Seq, "every seq once, in order")
		require.Equal(t, strconv.FormatUint(want, 10), string(m.Data))
		require.False(t, m.Gap)
		if want == 1 {
			require.Equal(t, fanout.Snapshot, m.Kind)
			epoch = m.Epoch
		} else {
			require.Equal(t, fanout.Update, m.Kind)
			require.Equal(t, epoch, m.Epoch)
		}
		pub.ack(m.Seq)
		if cut[m.Seq] {
			interrupt(s)
		}
	}
	assert.GreaterOrEqual(t, len(st.disconnects()), len(at))
	return st
}

func TestEverySeqOnceAcrossCuts(t *testing.T) {
	t.Parallel()
	st := testEveryOnce(t, (*server).cut, 300, 900, 1500)
	for _, err := range st.disconnects() {
		code := websocket.CloseStatus(err)
		assert.True(t, code == websocket.StatusGoingAway || code == -1, "closed by the cut: %v", err)
	}
}

func TestDrainResumes(t *testing.T) {
	t.Parallel()
	st := testEveryOnce(t, (*server).drain, 700, 1400)
	codes := make(map[websocket.StatusCode]int)
	for _, err := range st.disconnects() {
		codes[websocket.CloseStatus(err)]++
	}
	assert.Equal(t, 2, codes[transport.CloseReconnect], "disconnects: %v", st.disconnects())
}

func TestNewEpochGivesReset(t *testing.T) {
	t.Parallel()
	hub1 := newHub(t, 0)
	s := newServer(t, hub1, ws.Options{})
	_, err := hub1.PublishState("game", []byte(`{"e":"kickoff"}`), []byte(`{"score":"0-0"}`))
	require.NoError(t, err)
	c := dial(t, s.url, client.Options{})
	require.NoError(t, c.Subscribe("game"))
	first := next(t, c)
	require.Equal(t, fanout.Snapshot, first.Kind)
	_, err = hub1.Publish("game", []byte(`{"e":"goal"}`))
	require.NoError(t, err)
	require.Equal(t, uint64(2), next(t, c).Seq)

	// The server restarts with a new hub: the topic's history is lost.
	hub2 := newHub(t, 0)
	_, err = hub2.PublishState("game", []byte(`{"e":"restored"}`), []byte(`{"score":"1-0"}`))
	require.NoError(t, err)
	require.NoError(t, s.replace(hub2).Close())

	m := next(t, c)
	assert.Equal(t, fanout.Reset, m.Kind)
	assert.NotEqual(t, first.Epoch, m.Epoch)
	assert.Equal(t, uint64(1), m.Seq)
	assert.JSONEq(t, `{"score":"1-0"}`, string(m.Data))

	_, err = hub2.Publish("game", []byte(`{"e":"goal"}`))
	require.NoError(t, err)
	m = next(t, c)
	assert.Equal(t, fanout.Update, m.Kind)
	assert.Equal(t, fanout.Position{Epoch: m.Epoch, Seq: 2}, m.Position())
	pos, _ := c.Position("game")
	assert.Equal(t, m.Position(), pos)
}

// TestServerSlowConsumerResumes overflows the server's queue for the
// connection (4000). The resume after it is served from history when the
// missed messages fit the new queue, else as a reset carrying the state:
// the client never skips a message silently and never repeats one.
func TestServerSlowConsumerResumes(t *testing.T) {
	t.Parallel()
	const maxPublishes = 200_000
	hub := newHub(t, maxPublishes)
	s := newServer(t, hub, ws.Options{QueueSize: 16})
	st := newStates()
	c := dial(t, s.url, client.Options{OnState: st.on})
	_, err := hub.PublishState("tick", []byte(`1`), []byte(`1`))
	require.NoError(t, err)
	require.NoError(t, c.Subscribe("tick"))
	require.Equal(t, fanout.Snapshot, next(t, c).Kind)

	var final atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // publish as fast as possible until the server gives up on the connection, then a tail
		defer wg.Done()
		seq := uint64(1)
		for seq < maxPublishes && hub.Stats().SlowConsumers == 0 {
			seq++
			_, _ = hub.PublishState("tick", []byte(strconv.FormatUint(seq, 10)), []byte(strconv.FormatUint(seq, 10)))
		}
		final.Store(seq + 10)
		for range 10 {
			seq++
			_, _ = hub.PublishState("tick", []byte(strconv.FormatUint(seq, 10)), []byte(strconv.FormatUint(seq, 10)))
		}
	}()
	defer wg.Wait()

	last, resets := uint64(1), 0
	for {
		m := next(t, c)
		require.Greater(t, m.Seq, last, "no repeat")
		if m.Seq != last+1 {
			require.Equal(t, fanout.Reset, m.Kind, "a hole only after a reset")
		}
		if m.Kind == fanout.Reset {
			resets++
		}
		require.Equal(t, strconv.FormatUint(m.Seq, 10), string(m.Data), "the state is the message's")
		last = m.Seq
		if f := final.Load(); f != 0 && last >= f {
			break
		}
	}
	assert.Positive(t, hub.Stats().SlowConsumers)
	codes := make(map[websocket.StatusCode]int)
	for _, err := range st.disconnects() {
		codes[websocket.CloseStatus(err)]++
	}
	assert.Positive(t, codes[transport.CloseSlowConsumer], "disconnects: %v", st.disconnects())
	t.Logf("resets: %d, disconnects: %v", resets, st.disconnects())
}

func TestClientOverflowResumes(t *testing.T) {
	t.Parallel()
	const n = 300
	hub := newHub(t, n)
	s := newServer(t, hub, ws.Options{})
	st := newStates()
	c := dial(t, s.url, client.Options{QueueSize: 8, OnState: st.on})
	_, err := hub.PublishState("t", []byte(`1`), []byte(`1`))
	require.NoError(t, err)
	require.NoError(t, c.Subscribe("t"))
	require.Equal(t, uint64(1), next(t, c).Seq)

	for i := 2; i <= n; i++ {
		_, err := hub.Publish("t", []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}
	st.waitFor(t, client.Disconnected) // the caller does not call Next: the queue overflows
	for want := uint64(2); want <= n; want++ {
		m := next(t, c)
		require.Equal(t, want, m.Seq)
		require.Equal(t, fanout.Update, m.Kind)
	}
	assert.True(t, hasError(st.disconnects(), client.ErrOverflow), "disconnects: %v", st.disconnects())
}

func TestForbiddenTopicIsNotRetried(t *testing.T) {
	t.Parallel()
	var asked atomic.Int32
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{Auth: transport.Auth{Subscribe: func(_ *http.Request, topic string) error {
		if topic == "secret" {
			asked.Add(1)
			return errors.New("members only")
		}
		return nil
	}}})
	_, err := hub.PublishState("open", []byte(`1`), []byte(`1`))
	require.NoError(t, err)
	c := dial(t, s.url, client.Options{})

	require.NoError(t, c.Subscribe("secret"))
	_, err = c.Next(ctxT(t))
	var te *client.TopicError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, client.TopicError{Topic: "secret", Code: transport.CodeForbidden, Message: "members only"}, *te)

	require.NoError(t, c.Subscribe("open"))
	require.Equal(t, fanout.Snapshot, next(t, c).Kind)
	s.cut()
	_, err = hub.Publish("open", []byte(`2`))
	require.NoError(t, err)
	require.Equal(t, uint64(2), next(t, c).Seq, "the client resumed after the cut")
	assert.Equal(t, int32(1), asked.Load(), "the forbidden topic is not subscribed again")
	require.NoError(t, c.Subscribe("secret"), "it was forgotten, so it may be asked again")
}

func TestUnsubscribeAndSubscribeAgain(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{})
	for _, topic := range []string{"a", "b"} {
		_, err := hub.PublishState(topic, []byte(`1`), []byte(`1`))
		require.NoError(t, err)
	}
	c := dial(t, s.url, client.Options{})
	require.NoError(t, c.Subscribe("a"))
	require.NoError(t, c.Subscribe("b"))
	got := map[string]uint64{}
	for range 2 {
		m := next(t, c)
		got[m.Topic] = m.Seq
	}
	require.Equal(t, map[string]uint64{"a": 1, "b": 1}, got)

	require.NoError(t, c.Unsubscribe("a"))
	_, ok := c.Position("a")
	assert.False(t, ok)
	_, err := hub.PublishState("a", []byte(`2`), []byte(`"a2"`))
	require.NoError(t, err)
	require.NoError(t, c.Subscribe("a")) // at once: the client waits for the unsubscribe to complete
	_, err = hub.Publish("b", []byte(`2`))
	require.NoError(t, err)

	got = map[string]uint64{}
	for range 2 {
		m := next(t, c)
		if m.Topic == "a" {
			assert.Equal(t, fanout.Snapshot, m.Kind, "a new subscription starts with a snapshot")
			assert.Equal(t, `"a2"`, string(m.Data))
		}
		got[m.Topic] = m.Seq
	}
	assert.Equal(t, map[string]uint64{"a": 2, "b": 2}, got)
}

func TestRefusedConnection(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{Auth: transport.Auth{Connect: func(*http.Request) error {
		return errors.New("log in first")
	}}})
	_, err := client.Dial(ctxT(t), s.url, client.Options{})
	var re *client.RefusedError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusForbidden, re.StatusCode)
}

func TestCloseWakesNextAndIsIdempotent(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{})
	var returned, late atomic.Bool
	c, err := client.Dial(ctxT(t), s.url, client.Options{OnState: func(client.State, error) {
		late.Store(returned.Load())
	}})
	require.NoError(t, err)
	require.NoError(t, c.Subscribe("quiet"))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Next(ctxT(t))
		errc <- err
	}()
	require.NoError(t, c.Close())
	returned.Store(true)
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-errc, fanout.ErrClosed)
	assert.False(t, late.Load(), "Close waited for the client's goroutine: no callback after it")
	require.ErrorIs(t, c.Subscribe("x"), fanout.ErrClosed)
}

func TestCloseWhileReconnecting(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{})
	st := newStates()
	c, err := client.Dial(ctxT(t), s.url, client.Options{OnState: st.on, MinBackoff: 1, MaxBackoff: 2})
	require.NoError(t, err)
	s.srv.Close() // nothing listens any more: every redial fails
	s.cut()
	for range 3 {
		st.waitFor(t, client.Disconnected)
	}
	require.NoError(t, c.Close())
	st.waitFor(t, client.Closed)
}

// TestManyTopicsStayWithinTheCommandRate subscribes more topics than
// transport/ws's default command burst: the client paces its commands, so
// none is refused, and it does so again after a reconnect.
func TestManyTopicsStayWithinTheCommandRate(t *testing.T) {
	t.Parallel()
	const n = 60 // above the server's burst (50), below its topic limit (100)
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{})
	st := newStates()
	c := dial(t, s.url, client.Options{OnState: st.on})
	for i := range n {
		topic := "t" + strconv.Itoa(i)
		_, err := hub.PublishState(topic, []byte(`1`), []byte(`1`))
		require.NoError(t, err)
		require.NoError(t, c.Subscribe(topic))
	}
	seen := make(map[string]bool)
	for range n {
		m := next(t, c) // a *TopicError (rate_limited) would fail here
		require.Equal(t, fanout.Snapshot, m.Kind)
		seen[m.Topic] = true
	}
	require.Len(t, seen, n)

	s.cut()
	for i := range n {
		_, err := hub.Publish("t"+strconv.Itoa(i), []byte(`2`))
		require.NoError(t, err)
	}
	clear(seen)
	for range n {
		m := next(t, c)
		require.Equal(t, fanout.Update, m.Kind)
		require.Equal(t, uint64(2), m.Seq)
		seen[m.Topic] = true
	}
	require.Len(t, seen, n)
	assert.Len(t, st.disconnects(), 1, "only the cut: no close for invalid commands")
}

func TestSubscribeAndUnsubscribeWhileDisconnected(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{})
	for _, topic := range []string{"a", "b"} {
		_, err := hub.PublishState(topic, []byte(`1`), []byte(`1`))
		require.NoError(t, err)
	}
	st := newStates()
	c := dial(t, s.url, client.Options{OnState: st.on})
	require.NoError(t, c.Subscribe("a"))
	require.Equal(t, "a", next(t, c).Topic)

	s.setDown(true)
	for range 3 { // the cut, then failed reconnects (503)
		st.waitFor(t, client.Disconnected)
	}
	require.NoError(t, c.Unsubscribe("a"))
	require.NoError(t, c.Subscribe("b"))
	_, err := hub.Publish("a", []byte(`2`))
	require.NoError(t, err)
	s.setDown(false)

	m := next(t, c)
	assert.Equal(t, "b", m.Topic, "a was unsubscribed, b subscribed, while disconnected")
	assert.Equal(t, fanout.Snapshot, m.Kind)
	_, err = hub.Publish("b", []byte(`2`))
	require.NoError(t, err)
	m = next(t, c)
	assert.Equal(t, client.Message{Kind: fanout.Update, Topic: "b", Epoch: m.Epoch, Seq: 2, Data: []byte(`2`)}, m)
}

// TestTopicsStayInOrderAcrossCutsAndDrains publishes on several topics
// while the server cuts and drains the connection: every topic's seqs
// arrive once, in order.
func TestTopicsStayInOrderAcrossCutsAndDrains(t *testing.T) {
	t.Parallel()
	const topics, n, window = 4, 600, 100
	hub := newHub(t, n)
	s := newServer(t, hub, ws.Options{})
	st := newStates()
	c := dial(t, s.url, client.Options{OnState: st.on})
	pubs := make([]*publishAhead, topics)
	for i := range topics {
		topic := "feed:" + strconv.Itoa(i)
		_, err := hub.PublishState(topic, []byte(`1`), []byte(`1`))
		require.NoError(t, err)
		require.NoError(t, c.Subscribe(topic))
		pubs[i] = startPublisher(t, hub, topic, 2, n, window)
	}
	last := make(map[string]uint64)
	total := 0
	for total < topics*n {
		m := next(t, c)
		require.Equal(t, last[m.Topic]+1, m.Seq, "%s: every seq once, in order", m.Topic)
		require.NotEqual(t, fanout.Reset, m.Kind)
		last[m.Topic] = m.Seq
		i, _ := strconv.Atoi(m.Topic[len("feed:"):])
		pubs[i].ack(m.Seq)
		total++
		switch total {
		case 500, 1500:
			s.cut()
		case 1000, 2000:
			s.drain()
		}
	}
	assert.GreaterOrEqual(t, len(st.disconnects()), 4)
}

func TestResumeFromASavedPosition(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 100)
	s := newServer(t, hub, ws.Options{})
	_, err := hub.PublishState("game", []byte(`1`), []byte(`1`))
	require.NoError(t, err)

	first := dial(t, s.url, client.Options{})
	require.NoError(t, first.Subscribe("game"))
	require.Equal(t, uint64(1), next(t, first).Seq)
	_, err = hub.Publish("game", []byte(`2`))
	require.NoError(t, err)
	require.Equal(t, uint64(2), next(t, first).Seq)
	saved, ok := first.Position("game")
	require.True(t, ok)
	require.NoError(t, first.Close())

	for i := 3; i <= 4; i++ {
		_, err = hub.Publish("game", []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}
	second := dial(t, s.url, client.Options{})
	require.NoError(t, second.Resume("game", saved))
	pos, _ := second.Position("game")
	assert.Equal(t, saved, pos)
	for want := uint64(3); want <= 4; want++ {
		m := next(t, second)
		assert.Equal(t, client.Message{Kind: fanout.Update, Topic: "game", Epoch: saved.Epoch, Seq: want, Data: []byte(strconv.FormatUint(want, 10))}, m)
	}

	third := dial(t, s.url, client.Options{})
	require.NoError(t, third.Resume("game", fanout.Position{Epoch: "another", Seq: 3}))
	m := next(t, third)
	assert.Equal(t, fanout.Reset, m.Kind, "a position of another epoch gets a reset")
	assert.Equal(t, saved.Epoch, m.Epoch)
	require.ErrorIs(t, third.Resume("game", saved), fanout.ErrSubscribed)
}

// TestManyClientsSurviveADrain drains a server with many clients in the
// middle of a stream: each reconnects (the jitter spreads them) and
// resumes, and sees every message once.
func TestManyClientsSurviveADrain(t *testing.T) {
	t.Parallel()
	const clients, n = 40, 200
	hub := newHub(t, n)
	s := newServer(t, hub, ws.Options{})
	_, err := hub.PublishState("feed", []byte(`1`), []byte(`1`))
	require.NoError(t, err)
	var drained atomic.Int32
	onState := func(st client.State, err error) {
		if st == client.Disconnected && websocket.CloseStatus(err) == transport.CloseReconnect {
			drained.Add(1)
		}
	}
	cs := make([]*client.Client, clients)
	for i := range cs {
		cs[i] = dial(t, s.url, client.Options{OnState: onState})
		require.NoError(t, cs[i].Subscribe("feed"))
		require.Equal(t, uint64(1), next(t, cs[i]).Seq)
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			for want := uint64(2); want <= n; want++ {
				m, err := c.Next(ctx)
				if err != nil || m.Seq != want || m.Kind != fanout.Update {
					t.Errorf("want update %d, got %+v, %v", want, m, err)
					return
				}
			}
		}()
	}
	for seq := 2; seq <= n; seq++ {
		if seq == n/2 {
			s.drain()
		}
		_, err := hub.Publish("feed", []byte(strconv.Itoa(seq)))
		require.NoError(t, err)
	}
	wg.Wait()
	assert.Equal(t, int32(clients), drained.Load(), "every client was drained once")
}

// A server at capacity answers 503 with Retry-After; the client reports
// the delay the server asked for.
func TestDialAtCapacityReportsRetryAfter(t *testing.T) {
	t.Parallel()
	hub := newHub(t, 0)
	s := newServer(t, hub, ws.Options{MaxConnections: 1})
	first := dial(t, s.url, client.Options{})
	require.NoError(t, first.Subscribe("a"))

	_, err := client.Dial(ctxT(t), s.url, client.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "asks to retry after 5s")
	var refused *client.RefusedError
	assert.False(t, errors.As(err, &refused), "503 is not a final refusal")
}
