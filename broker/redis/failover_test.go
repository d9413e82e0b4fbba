package redis_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/fanout-go/fanout/internal/failovertest"
)

// The failover tests run gateways in process (a hub on a real Redis, the
// transport set on an httptest server, closed abruptly to play a killed
// process) and real HTTP clients behind a "load balancer" that sends each
// client to its home gateway, or to the next one that is up.

const (
	foTopic   = "failover:score"
	foHistory = 4096 // more than a failover misses: resumes never reset
)

// foHub returns a hub on the Redis at addr, closed by the test's cleanup
// unless the test closed it. wrap, when not nil, wraps its broker.
func foHub(t *testing.T, addr string, wrap func(fanout.Broker) fanout.Broker) *fanout.Hub {
	return foHubHistory(t, addr, foHistory, wrap)
}

// foHubHistory is foHub with a history of history messages per topic.
func foHubHistory(t *testing.T, addr string, history int, wrap func(fanout.Broker) fanout.Broker) *fanout.Hub {
	t.Helper()
	b, err := redisbroker.New(redisbroker.Options{Addr: addr, HistorySize: history, HealthInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	var br fanout.Broker = b
	if wrap != nil {
		br = wrap(b)
	}
	h := fanout.NewHub(fanout.Options{
		Broker:        br,
		BrokerTimeout: 2 * time.Second,
		TopicConfig:   func(string) fanout.TopicConfig { return fanout.TopicConfig{HistorySize: history} },
	})
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// wireMsg is a protocol message, as the SSE and long-poll answers carry it.
type wireMsg struct {
	Type  string `json:"type"`
	Topic string `json:"topic"`
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// pause waits d, or less if ctx ends: a client's retry delay.
func pause(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// runSSE follows foTopic over Server-Sent Events until ctx ends, as a
// browser's EventSource does: after a lost stream it connects again with
// the last event's id as Last-Event-ID, the cursor that resumes it on any
// node.
func runSSE(ctx context.Context, hc *http.Client, r *failovertest.Recorder) {
	lastID := ""
	for conn := 1; ctx.Err() == nil; conn++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://gateway/events?topic="+url.QueryEscape(foTopic), nil)
		if err != nil {
			panic(err)
		}
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := hc.Do(req)
		if err != nil {
			pause(ctx, 20*time.Millisecond)
			continue
		}
		if resp.StatusCode == http.StatusOK {
			lastID = readSSE(resp, conn, lastID, r)
		} else {
			pause(ctx, 20*time.Millisecond)
		}
		resp.Body.Close()
	}
}

// readSSE reads one stream's events into r and returns the last event id.
func readSSE(resp *http.Response, conn int, lastID string, r *failovertest.Recorder) string {
	sc := bufio.NewScanner(resp.Body)
	var id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			var m wireMsg
			if data != "" && json.Unmarshal([]byte(data), &m) == nil {
				r.Record(m.Type, fanout.Position{Epoch: m.Epoch, Seq: m.Seq}, conn)
				if id != "" {
					lastID = id
				}
			}
			id, data = "", ""
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimPrefix(line[5:], " ")
		}
	}
	return lastID
}

// runPoll follows foTopic by long-polling until ctx ends, polling again
// from the last position it applied; a failed poll is retried on whichever
// gateway the balancer picks. An answer from another gateway than the
// last one counts as a new connection.
func runPoll(ctx context.Context, hc *http.Client, r *failovertest.Recorder) {
	var pos *fanout.Position
	conn, gateway := 0, ""
	for ctx.Err() == nil {
		u := "http://gateway/poll?topic=" + url.QueryEscape(foTopic)
		if pos != nil {
			u += fmt.Sprintf("&epoch=%s&since=%d", url.QueryEscape(pos.Epoch), pos.Seq)
		}
		msgs, gw, err := pollOnce(ctx, hc, u)
		if err != nil {
			pause(ctx, 20*time.Millisecond)
			continue
		}
		if gw != gateway { // http.Transport retries a GET on a new connection by itself
			conn, gateway = conn+1, gw
		}
		for _, m := range msgs {
			if m.Topic == foTopic && m.Type != "error" {
				p := fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
				r.Record(m.Type, p, conn)
				pos = &p
			}
		}
	}
}

// pollOnce polls u and returns the answer and the gateway that gave it.
func pollOnce(ctx context.Context, hc *http.Client, u string) ([]wireMsg, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("poll: %s", resp.Status)
	}
	var msgs []wireMsg
	return msgs, resp.Header.Get("X-Gateway"), json.NewDecoder(resp.Body).Decode(&msgs)
}

// TestFailoverHTTPClients kills the gateway of SSE and long-poll clients
// while a publisher publishes through another node: every client goes on
// on the other gateway from where it was, the SSE ones from their cursor
// (Last-Event-ID), without a reset, a gap or a duplicate, and ends at the
// publisher's last position. The time from the kill to each moved client's
// first message on the other gateway is logged as p50/p99.
func TestFailoverHTTPClients(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(context.Context, *http.Client, *failovertest.Recorder)
	}{{"SSE", runSSE}, {"Poll", runPoll}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			gws := []*failovertest.Gateway{failovertest.NewGateway(t, "0", foHub(t, srv.Addr, nil)), failovertest.NewGateway(t, "1", foHub(t, srv.Addr, nil))}
			pub := foHub(t, srv.Addr, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			var recs []*failovertest.Recorder
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			for i := range 12 {
				home := 1
				if i < 2 {
					home = 0 // two stay where they are
				}
				r := &failovertest.Recorder{Name: fmt.Sprintf("%s%d@%d", tc.name, i, home), Home: home}
				recs = append(recs, r)
				hc := failovertest.Balancer(gws, home)
				wg.Go(func() { tc.run(ctx, hc, r) })
			}
			stop := make(chan struct{})
			type result struct {
				last fanout.Position
				err  error
			}
			published := make(chan result, 1)
			go func() {
				last, err := failovertest.Publishing(ctx, pub, foTopic, stop)
				published <- result{last, err}
			}()
			failovertest.WaitAll(t, recs, "every client receives updates", func(r *failovertest.Recorder) bool { n, _, _, _ := r.State(); return n > 20 })

			killed := time.Now()
			gws[1].Kill()
			failovertest.WaitAll(t, recs, "every client receives again", func(r *failovertest.Recorder) bool {
				_, _, _, back := r.State()
				return r.Home == 0 || len(back) > 0
			})
			close(stop)
			res := <-published
			require.NoError(t, res.err)
			failovertest.WaitAll(t, recs, "every client reaches the last position", func(r *failovertest.Recorder) bool {
				_, last, _, _ := r.State()
				return last == res.last
			})

			var lat []time.Duration
			for _, r := range recs {
				r.RequireClean(t)
				if _, _, _, back := r.State(); r.Home == 1 {
					lat = append(lat, back[0].Sub(killed))
				}
			}
			p50, p99 := failovertest.Percentiles(lat)
			t.Logf("%s failover, gateway killed: %d clients moved; kill to receiving again p50 %v, p99 %v; %d messages published",
				tc.name, len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond), res.last.Seq)
		})
	}
}
