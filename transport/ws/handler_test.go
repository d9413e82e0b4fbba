package ws_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotThenUpdates(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	_, err := s.hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))
	require.NoError(t, err)

	c := s.dial(t)
	c.send(`{"action":"subscribe","topic":"game:1","id":7}`)
	var got []msg
	for len(got) < 2 {
		m := c.next()
		if m.Type == "subscribed" {
			require.NotNil(t, m.ID)
			assert.EqualValues(t, 7, *m.ID)
			assert.Equal(t, "game:1", m.Topic)
			continue
		}
		got = append(got, m)
		if len(got) == 1 {
			publish(t, s.hub, "game:1", `{"event":"goal"}`)
		}
	}
	assert.Equal(t, "snapshot", got[0].Type)
	assert.EqualValues(t, 1, got[0].Seq)
	assert.JSONEq(t, `{"score":"0-0"}`, string(got[0].Data))
	assert.Equal(t, "update", got[1].Type)
	assert.EqualValues(t, 2, got[1].Seq)
	assert.Equal(t, got[0].Epoch, got[1].Epoch)
	assert.JSONEq(t, `{"event":"goal"}`, string(got[1].Data))
}

func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	c.send(`{"action":"subscribe","topic":"a","id":1}`)
	require.Equal(t, "subscribed", c.next().Type)
	c.send(`{"action":"unsubscribe","topic":"a","id":2}`)
	m := c.next()
	assert.Equal(t, "unsubscribed", m.Type)
	assert.Equal(t, transport.ReasonRequested, m.Reason)
	require.NotNil(t, m.ID)
	assert.EqualValues(t, 2, *m.ID)

	c.send(`{"action":"unsubscribe","topic":"a","id":3}`)
	m = c.next()
	assert.Equal(t, "error", m.Type)
	assert.Equal(t, transport.CodeNotSubscribed, m.Code)

	// Nothing of a arrives any more: b's update is the next message.
	publish(t, s.hub, "a", `1`)
	c.subscribe("b")
	require.Equal(t, "subscribed", c.next().Type)
	publish(t, s.hub, "b", `2`)
	m = c.next()
	assert.Equal(t, "b", m.Topic)
}

// TestOrderNoGap publishes on several topics from several goroutines while
// several connections read: each connection sees every topic's messages
// in order, without a hole, and batched into frames.
func TestOrderNoGap(t *testing.T) {
	t.Parallel()
	const conns, topics, perTopic = 5, 4, 500
	s := newServer(t, nil, ws.Options{QueueSize: topics * perTopic})
	var clients []*client
	for range conns {
		c := s.dial(t)
		for i := range topics {
			c.subscribe("t" + strconv.Itoa(i))
		}
		for range topics {
			require.Equal(t, "subscribed", c.next().Type)
		}
		clients = append(clients, c)
	}

	var pubs sync.WaitGroup
	for i := range topics {
		pubs.Go(func() {
			for k := range perTopic {
				publish(t, s.hub, "t"+strconv.Itoa(i), strconv.Itoa(k))
			}
		})
	}
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Go(func() {
			last := map[string]uint64{}
			for n := 0; n < topics*perTopic; n++ {
				m, err := c.tryNext(ctxT(t))
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, "update", m.Type)
				assert.Equal(t, last[m.Topic]+1, m.Seq, "topic %s", m.Topic)
				assert.Equal(t, strconv.FormatUint(m.Seq-1, 10), string(m.Data))
				last[m.Topic] = m.Seq
			}
		})
	}
	pubs.Wait()
	readers.Wait()
	for _, c := range clients {
		assert.LessOrEqual(t, c.frames, topics*perTopic)
	}
}

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{QueueSize: 4})
	c := s.dial(t)
	c.subscribe("fast")
	require.Equal(t, "subscribed", c.next().Type)

	// The client reads a few messages, then stops reading: its socket
	// buffers fill, the writer blocks and the queue overflows. Bounded: 2000
	// messages of 16 KiB are more than loopback buffers hold.
	var last fanout.Position
	for i := range 3 {
		publish(t, s.hub, "fast", strconv.Itoa(i))
		m := c.next()
		require.Equal(t, last.Seq+1, m.Seq)
		last = fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
	}
	payload := `"` + strings.Repeat("x", 16<<10) + `"`
	total := last.Seq
	for s.hub.Stats().SlowConsumers == 0 {
		require.Less(t, total, uint64(2000), "the queue never overflowed")
		total = publish(t, s.hub, "fast", payload).Seq
	}
	for {
		m, err := c.tryNext(ctxT(t))
		if err != nil {
			require.Equal(t, websocket.StatusCode(transport.CloseSlowConsumer), websocket.CloseStatus(err), "%v", err)
			break
		}
		require.Equal(t, "update", m.Type)
		require.Equal(t, last.Seq+1, m.Seq)
		last = fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
	}
	require.Less(t, last.Seq, total)

	// It reconnects and resumes where it stopped: no loss, no duplicate.
	// (Through a handler with a larger queue: a resume is served from
	// history only when what it missed fits the queue.)
	s2 := newServer(t, s.hub, ws.Options{QueueSize: 64})
	c2 := s2.dial(t)
	c2.send(resumeCmd("fast", last))
	for last.Seq < total {
		m := c2.nextData()
		require.Equal(t, "update", m.Type)
		require.Equal(t, last.Epoch, m.Epoch)
		require.Equal(t, last.Seq+1, m.Seq)
		last.Seq = m.Seq
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{Auth: transport.Auth{
		Connect: func(r *http.Request) error {
			if r.Header.Get("X-Token") == "bad" {
				return fmt.Errorf("fanout: bad token; log in again")
			}
			return nil
		},
		Subscribe: func(r *http.Request, topic string) error {
			if topic == "secret" {
				return fmt.Errorf("not for you")
			}
			return nil
		},
	}})

	t.Run("connect", func(t *testing.T) {
		resp := s.get(t, http.Header{"X-Token": {"bad"}})
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		_, resp, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Token": {"bad"}}})
		require.Error(t, err)
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("topic", func(t *testing.T) {
		c := s.dial(t)
		c.send(`{"action":"subscribe","topic":"secret","id":5}`)
		m := c.next()
		assert.Equal(t, "error", m.Type)
		assert.Equal(t, transport.CodeForbidden, m.Code)
		assert.Equal(t, "not for you", m.Message)
		assert.Equal(t, "secret", m.Topic)
		require.NotNil(t, m.ID)
		assert.EqualValues(t, 5, *m.ID)
		// The connection stays open.
		c.subscribe("public")
		assert.Equal(t, "subscribed", c.next().Type)
	})
}

// TestNoLostWakeup publishes one message at a time and waits for it, so
// that the writer goes idle between messages and is started again each
// time, while commands add replies: a lost wakeup would hang the test.
func TestNoLostWakeup(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{CommandRate: 1e6, CommandBurst: 1e6})
	c := s.dial(t)
	c.subscribe("w")
	require.Equal(t, "subscribed", c.next().Type)
	for i := range 1000 {
		publish(t, s.hub, "w", strconv.Itoa(i))
		if i%10 == 0 {
			c.send(`{"action":"subscribe","topic":"w"}`) // an error reply races the update
			for range 2 {
				m := c.next()
				assert.Contains(t, []string{"update", "error"}, m.Type)
			}
			continue
		}
		m := c.next()
		require.EqualValues(t, i+1, m.Seq)
	}
}

func TestCompression(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{CompressionMode: websocket.CompressionContextTakeover})
	c, _, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover})
	require.NoError(t, err)
	defer c.CloseNow()
	cl := &client{t: t, c: c}
	cl.subscribe("z")
	require.Equal(t, "subscribed", cl.next().Type)
	big := `"` + strings.Repeat("abc", 1000) + `"`
	for range 3 {
		publish(t, s.hub, "z", big)
	}
	for i := range 3 {
		m := cl.next()
		assert.EqualValues(t, i+1, m.Seq)
		assert.Equal(t, big, string(m.Data))
	}
}

// TestHookPanic: a panicking authorization hook ends its connection
// without leaking its subscriber or goroutines, and the panic is logged to
// the server's ErrorLog.
func TestHookPanic(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	h := ws.NewHandler(hub, ws.Options{Auth: transport.Auth{
		Subscribe: func(*http.Request, string) error { panic("hook bug") },
	}})
	srv := httptest.NewUnstartedServer(h)
	logged := make(chan string, 10)
	srv.Config.ErrorLog = log.New(chanWriter(logged), "", 0)
	srv.Start()
	t.Cleanup(func() {
		require.NoError(t, h.Close())
		srv.Close()
	})
	c, _, err := websocket.Dial(ctxT(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.Write(ctxT(t), websocket.MessageText, []byte(`{"action":"subscribe","topic":"a"}`)))
	_, _, err = c.Read(ctxT(t))
	require.Error(t, err)
	require.Eventually(t, func() bool { return h.Len() == 0 && hub.Stats().Subscribers == 0 }, testTimeout, time.Millisecond)
	var line string
	select {
	case line = <-logged:
	case <-time.After(testTimeout):
		t.Fatal("the panic was not logged")
	}
	assert.Contains(t, line, "panic serving")
	assert.Contains(t, line, "hook bug")
}

// chanWriter sends each write to a channel, dropping it when the channel
// is full.
type chanWriter chan string

func (w chanWriter) Write(p []byte) (int, error) {
	select {
	case w <- string(p):
	default:
	}
	return len(p), nil
}
