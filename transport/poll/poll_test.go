package poll_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/poll"
)

const testTimeout = 10 * time.Second

type server struct {
	hub *fanout.Hub
	h   *poll.Handler
	srv *httptest.Server
}

func newServer(t *testing.T, opts poll.Options) *server {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{})
	h := poll.NewHandler(hub, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
		_ = hub.Close()
	})
	return &server{hub: hub, h: h, srv: srv}
}

type msg struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	Epoch   string          `json:"epoch"`
	Seq     uint64          `json:"seq"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

// keep subscribes a subscriber of its own to topics until the test ends.
// A topic that only subscribers created goes with its last one, and comes
// back in a new epoch: between two polls, the subscriber keeps it, as the
// other clients of a live topic would.
func (s *server) keep(t *testing.T, topics ...string) {
	t.Helper()
	sub := s.hub.NewSubscriber(fanout.SubscriberOptions{})
	t.Cleanup(func() { _ = sub.Close() })
	for _, name := range topics {
		require.NoError(t, sub.Subscribe(t.Context(), name))
	}
}

// pos is a topic's position in a poll; an empty epoch means none.
type pos struct {
	topic, epoch string
	since        uint64
}

func (p pos) values(q url.Values, positioned bool) {
	q.Add("topic", p.topic)
	if positioned {
		since := ""
		if p.epoch != "" {
			since = strconv.FormatUint(p.since, 10)
		}
		q.Add("epoch", p.epoch)
		q.Add("since", since)
	}
}

// get polls rawQuery and returns the status, body and parsed answer.
func (s *server) get(t *testing.T, rawQuery string) (int, string, []msg) {
	t.Helper()
	r := s.fetch(rawQuery)
	require.NoError(t, r.err)
	return r.status, r.body, r.ms
}

// result is the outcome of a poll.
type result struct {
	status int
	body   string
	ms     []msg
	err    error
}

// fetch polls rawQuery; it is safe to call from any goroutine.
func (s *server) fetch(rawQuery string) (r result) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.URL+"/?"+rawQuery, nil)
	if err != nil {
		return result{err: err}
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r = result{status: resp.StatusCode, body: string(body), err: err}
	if err == nil && resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			r.err = errors.New("Content-Type " + ct)
		} else {
			r.err = json.Unmarshal(body, &r.ms)
		}
	}
	return r
}

// poll polls the positions and requires a 200.
func (s *server) poll(t *testing.T, ps ...pos) []msg {
	t.Helper()
	r := s.fetch(encode(ps))
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.status, r.body)
	return r.ms
}

func encode(ps []pos) string {
	q := url.Values{}
	positioned := false
	for _, p := range ps {
		positioned = positioned || p.epoch != ""
	}
	for _, p := range ps {
		p.values(q, positioned)
	}
	return q.Encode()
}

// pollAsync polls in a goroutine and returns the channel of its result.
func (s *server) pollAsync(ps ...pos) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- s.fetch(encode(ps)) }()
	return ch
}

// receive returns the answer of a poll started with pollAsync, which must
// be a 200.
func receive(t *testing.T, ch <-chan result) []msg {
	t.Helper()
	r := <-ch // fetch is bounded by testTimeout
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.status, r.body)
	return r.ms
}

func TestSnapshotWithoutPosition(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{})
	_, err := s.hub.PublishState("game", []byte(`{}`), []byte(`{"score":"1-0"}`))
	require.NoError(t, err)
	ms := s.poll(t, pos{topic: "game"})
	require.Len(t, ms, 1)
	assert.Equal(t, "snapshot", ms[0].Type)
	assert.Equal(t, uint64(1), ms[0].Seq)
	assert.JSONEq(t, `{"score":"1-0"}`, string(ms[0].Data))

	// A topic without state answers at once too, with its position.
	ms = s.poll(t, pos{topic: "quiet"})
	require.Len(t, ms, 1)
	assert.Equal(t, "snapshot", ms[0].Type)
	assert.Equal(t, "null", string(ms[0].Data))
	assert.NotEmpty(t, ms[0].Epoch)
}

func TestAnswersAtOnceWhenBehind(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{HoldTimeout: time.Hour})
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	for i := range 5 {
		_, err := s.hub.Publish("t", []byte(strconv.Itoa(i)))
		require.NoError(t, err)
	}
	ms := s.poll(t, pos{"t", first.Epoch, 2})
	require.Len(t, ms, 3)
	for i, m := range ms {
		assert.Equal(t, "update", m.Type)
		assert.Equal(t, uint64(3+i), m.Seq)
	}
}

func TestHoldsUntilPublish(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{HoldTimeout: time.Hour})
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	ch := s.pollAsync(pos{"t", first.Epoch, first.Seq})
	require.Eventually(t, func() bool { return s.h.Len() == 1 }, testTimeout, time.Millisecond)
	_, err := s.hub.Publish("t", []byte(`{"n":1}`))
	require.NoError(t, err)
	ms := receive(t, ch)
	require.Len(t, ms, 1)
	assert.Equal(t, "update", ms[0].Type)
	assert.Equal(t, first.Seq+1, ms[0].Seq)
	assert.JSONEq(t, `{"n":1}`, string(ms[0].Data))
}

func TestHoldTimeoutAnswersEmpty(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{HoldTimeout: 10 * time.Millisecond})
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	_, body, ms := s.get(t, "topic=t&epoch="+first.Epoch+"&since="+strconv.FormatUint(first.Seq, 10))
	assert.Empty(t, ms)
	assert.Equal(t, "[]\n", body)
}

func TestResets(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{QueueSize: 4})
	_, err := s.hub.PublishState("t", []byte(`{}`), []byte(`{"s":1}`))
	require.NoError(t, err)
	first := s.poll(t, pos{topic: "t"})[0]

	ms := s.poll(t, pos{"t", "otherEpo", 1})
	require.Len(t, ms, 1)
	assert.Equal(t, "reset", ms[0].Type)
	assert.Equal(t, first.Epoch, ms[0].Epoch)
	assert.JSONEq(t, `{"s":1}`, string(ms[0].Data))

	// More missed than one answer carries: a reset too.
	for range 10 {
		_, err := s.hub.PublishState("t", []byte(`{}`), []byte(`{"s":2}`))
		require.NoError(t, err)
	}
	ms = s.poll(t, pos{"t", first.Epoch, first.Seq})
	require.Len(t, ms, 1)
	assert.Equal(t, "reset", ms[0].Type)
	assert.Equal(t, uint64(11), ms[0].Seq)
}

func TestSeveralTopics(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{HoldTimeout: time.Hour})
	s.keep(t, "a", "b")
	ms := s.poll(t, pos{topic: "a"}, pos{topic: "b"})
	require.Len(t, ms, 2)
	at := map[string]msg{}
	for _, m := range ms {
		at[m.Topic] = m
	}
	_, err := s.hub.Publish("b", []byte(`{"b":1}`))
	require.NoError(t, err)
	ms = s.poll(t, pos{"a", at["a"].Epoch, at["a"].Seq}, pos{"b", at["b"].Epoch, at["b"].Seq}, pos{topic: "c"})
	require.Len(t, ms, 2, "b's update and c's snapshot")
	got := map[string]string{}
	for _, m := range ms {
		got[m.Topic] = m.Type
	}
	assert.Equal(t, map[string]string{"b": "update", "c": "snapshot"}, got)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{MaxTopics: 2, HoldTimeout: time.Hour, Auth: transport.Auth{
		Connect: func(r *http.Request) error {
			if r.URL.Query().Has("banned") {
				return errors.New("fanout: banned")
			}
			return nil
		},
		Subscribe: func(_ *http.Request, topic string) error {
			if topic == "secret" {
				return errors.New("fanout: not yours")
			}
			return nil
		},
	}})
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"", 400},
		{"topic=a&topic=b&topic=c", 400},
		{"topic=a&epoch=e", 400},
		{"topic=a&topic=b&epoch=e&since=1", 400},
		{"topic=a&epoch=e&since=x", 400},
		{"topic=a&epoch=&since=1", 400},
		{"topic=bad%20name", 400},
		{"topic=a&banned=1", 403},
		{"topic=secret", 403},
	} {
		status, body, _ := s.get(t, tc.query)
		assert.Equal(t, tc.status, status, "%q: %s", tc.query, body)
	}
	// A denied topic among others is answered at once, with an error.
	ms := s.poll(t, pos{topic: "secret"}, pos{topic: "ok"})
	require.Len(t, ms, 2)
	assert.Equal(t, "error", ms[0].Type)
	assert.Equal(t, "forbidden", ms[0].Code)
	assert.Equal(t, "secret", ms[0].Topic)
	assert.Equal(t, "snapshot", ms[1].Type)
}

func TestMaxHeld(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{MaxHeld: 1, HoldTimeout: time.Hour})
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	ch := s.pollAsync(pos{"t", first.Epoch, first.Seq})
	require.Eventually(t, func() bool { return s.h.Len() == 1 }, testTimeout, time.Millisecond)
	status, _, _ := s.get(t, "topic=t")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	publish := func() {
		_, err := s.hub.Publish("t", nil)
		require.NoError(t, err)
	}
	publish()
	require.Len(t, receive(t, ch), 1)
}

func TestShutdownReleasesHeld(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{HoldTimeout: time.Hour})
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	chs := make([]<-chan result, 3)
	for i := range chs {
		chs[i] = s.pollAsync(pos{"t", first.Epoch, first.Seq})
	}
	require.Eventually(t, func() bool { return s.h.Len() == len(chs) }, testTimeout, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, s.h.Shutdown(ctx))
	for _, ch := range chs {
		assert.Empty(t, receive(t, ch))
	}
	assert.Equal(t, 0, s.h.Len())
	status, _, _ := s.get(t, "topic=t")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	require.NoError(t, s.h.Close())
}

func TestHubClosed(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{HoldTimeout: time.Hour})
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	ch := s.pollAsync(pos{"t", first.Epoch, first.Seq})
	require.Eventually(t, func() bool { return s.h.Len() == 1 }, testTimeout, time.Millisecond)
	require.NoError(t, s.hub.Close())
	r := <-ch
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	status, _, _ := s.get(t, "topic=t")
	assert.Equal(t, http.StatusServiceUnavailable, status)
}

// TestConcurrentShutdownsAllReturn has two Shutdowns wait for a request
// still being served: when it is answered, both must return, not only the
// one that took the wake-up.
func TestConcurrentShutdownsAllReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := fanout.NewHub(fanout.Options{})
		defer hub.Close()
		release := make(chan struct{})
		h := poll.NewHandler(hub, poll.Options{Auth: transport.Auth{
			Subscribe: func(*http.Request, string) error { <-release; return nil },
		}})
		served := make(chan struct{})
		go func() {
			defer close(served)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/?topic=t", nil))
		}()
		synctest.Wait() // the request waits in the hook

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- h.Shutdown(ctx) }()
		}
		synctest.Wait() // both wait for the request
		close(release)
		<-served
		synctest.Wait()

		returned := 0
		for len(errs) > 0 {
			require.NoError(t, <-errs)
			returned++
		}
		cancel() // frees a Shutdown that missed its wake-up, so that the test ends
		assert.Equal(t, 2, returned, "every Shutdown returns once the handler is idle")
		require.NoError(t, h.Close())
	})
}

// TestRepeatedTopicCountsOnce: a topic named several times counts once
// against MaxTopics, and its first position wins.
func TestRepeatedTopicCountsOnce(t *testing.T) {
	t.Parallel()
	s := newServer(t, poll.Options{MaxTopics: 2, HoldTimeout: time.Hour})
	s.keep(t, "a", "b")
	ms := s.poll(t, pos{topic: "a"}, pos{topic: "b"}, pos{topic: "a"}, pos{topic: "b"})
	require.Len(t, ms, 2)
	at := map[string]msg{}
	for _, m := range ms {
		assert.Equal(t, "snapshot", m.Type)
		at[m.Topic] = m
	}
	_, err := s.hub.Publish("a", []byte(`1`))
	require.NoError(t, err)
	a := at["a"]
	ms = s.poll(t, pos{"a", a.Epoch, a.Seq}, pos{"a", "otherEpo", 1}, pos{"a", a.Epoch, a.Seq})
	require.Len(t, ms, 1)
	assert.Equal(t, "update", ms[0].Type, "the first position wins")
	assert.Equal(t, a.Seq+1, ms[0].Seq)

	status, body, _ := s.get(t, "topic=a&topic=b&topic=c&topic=a")
	assert.Equal(t, http.StatusBadRequest, status, body)
}
