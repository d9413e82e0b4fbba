package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// startServe runs fanout-load serve on a free port until the test ends,
// and returns its base URL.
func startServe(t *testing.T, cfg serveConfig) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, func(url string) { urls <- url }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case url := <-urls:
		return url
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
		return ""
	}
}

// testLoad is a small load: a few clients for at most a few seconds.
func testLoad(url string) loadConfig {
	return loadConfig{URL: url, WSPath: "/ws", SSEPath: "/events", PollPath: "/poll",
		Transports: []string{"ws"}, Clients: 12, Ramp: 200, Duration: 2 * time.Second,
		Topics: []string{"load:1"}, PerClient: 1, Dist: "uniform", StrictResume: true, Seed: 1,
		Interval: 250 * time.Millisecond, Progress: "off"}
}

// assertClean fails the test on any violation or error of r.
func assertClean(t *testing.T, r *result) {
	t.Helper()
	if n := r.violations(); n > 0 {
		t.Errorf("%d violations: %+v", n, r.Examples)
	}
	if len(r.Errors) > 0 {
		t.Errorf("errors: %v", r.Errors)
	}
}

// TestServe loads fanout-load's own server over every transport, with a
// third of the connections cut and resumed: no violation, every client
// connected, and the latency measured from the payloads' "ts".
func TestServe(t *testing.T) {
	url := startServe(t, serveConfig{Addr: "127.0.0.1:0", Rate: 40, Topics: 6, Pattern: "load:%d", Size: 128, MaxConns: 100})
	for _, tc := range []struct {
		name       string
		transports []string
		cut        float64
	}{
		{"ws", []string{"ws"}, 0},
		{"sse", []string{"sse"}, 0},
		{"poll", []string{"poll"}, 0},
		{"mix with cuts", []string{"ws", "sse", "poll"}, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testLoad(url)
			cfg.Transports, cfg.Cut = tc.transports, tc.cut
			cfg.Topics, cfg.PerClient, cfg.Dist, cfg.ZipfS = patternTopics("load:%d", 6), 2, "zipf", 1.2
			r, err := run(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertClean(t, r)
			if r.Started != cfg.Clients || r.PeakOpen == 0 || r.Updates == 0 {
				t.Errorf("started %d, peak %d open, %d updates", r.Started, r.PeakOpen, r.Updates)
			}
			if r.Latency.total() == 0 {
				t.Error("no latency measured")
			}
			if tc.cut > 0 && (r.Cuts == 0 || r.Resumes == 0) {
				t.Errorf("%d cuts, %d topics resumed: want some", r.Cuts, r.Resumes)
			}
		})
	}
}

// TestTLS loads a server over https with its own certificate (-insecure):
// WebSocket and SSE, each client on a connection of its own.
func TestTLS(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	srv := game.NewServer(hub, game.ServerOptions{})
	hs := httptest.NewTLSServer(srv)
	defer func() {
		srv.Close()
		hs.Close()
	}()
	if _, err := hub.PublishState("t", []byte(`{"a":1}`), []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	cfg := testLoad(hs.URL)
	cfg.Insecure, cfg.Transports, cfg.Clients, cfg.Topics = true, []string{"ws", "sse"}, 4, []string{"t"}
	// Two snapshots and subscribed replies over WebSocket, two snapshots
	// over SSE; the duration is a backstop.
	cfg.Messages, cfg.Duration = 6, 20*time.Second
	r, err := run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, r)
	if r.Msgs != 6 || r.Connects != 4 {
		t.Errorf("%d messages over %d connections, want 6 over 4", r.Msgs, r.Connects)
	}
}

// TestMessageLimit stops a run by its -messages limit, long before its
// duration.
func TestMessageLimit(t *testing.T) {
	url := startServe(t, serveConfig{Addr: "127.0.0.1:0", Rate: 100, Topics: 1, Pattern: "load:%d", Size: 64, MaxConns: 100})
	cfg := testLoad(url)
	cfg.Duration, cfg.Messages = time.Hour, 50
	r, err := run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, r)
	if r.Msgs < 50 {
		t.Errorf("stopped after %d messages, want at least 50", r.Msgs)
	}
}

// TestScoreboard loads the scoreboard example's server, mounted in
// process with its feed as examples/scoreboard runs it, over WebSocket and
// SSE (it serves no long-poll): its topics keep state, its games' topics
// push occupancy counts, and its payloads carry no "ts". A game the feed has not put on the board yet is joined
// with a position-only snapshot, as the protocol says.
func TestScoreboard(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := fanout.NewHub(fanout.Options{TopicConfig: game.TopicConfig}) // occupancy counts on the games
	defer hub.Close()
	ingest := game.NewIngester(hub, slog.New(slog.DiscardHandler))
	feed := game.NewFeed(ingest, game.FeedOptions{Games: 3, Rate: 300, Seed: 7})
	feedDone := make(chan error, 1)
	go func() { feedDone <- feed.Run(ctx) }()
	srv := game.NewServer(hub, game.ServerOptions{})
	hs := httptest.NewServer(srv)
	defer func() {
		cancel()
		if err := <-feedDone; err != nil && ctx.Err() == nil {
			t.Errorf("feed: %v", err)
		}
		srv.Close()
		hs.Close()
	}()

	cfg := testLoad(hs.URL)
	cfg.Transports = []string{"ws", "sse"}
	cfg.Topics = []string{game.IndexTopic, game.Topic("g1"), game.Topic("g2"), game.Topic("g3")}
	cfg.PerClient, cfg.Cut, cfg.Messages, cfg.Duration = 3, 0.3, 600, 3*time.Second
	r, err := run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, r)
	if r.Updates == 0 {
		t.Error("no update received")
	}
	t.Logf("%d messages, %d updates, %d occupancy counts", r.Msgs, r.Updates, r.Occupancy)
	if r.Latency.total() != 0 {
		t.Errorf("%d latencies from payloads without ts", r.Latency.total())
	}
	var sb strings.Builder
	if err := writeSummary(&sb, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), `not measured: no update carried "ts"`) {
		t.Errorf("summary:\n%s", sb.String())
	}
}
