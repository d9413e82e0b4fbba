package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/metrics"
	"github.com/fanout-go/fanout/transport/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// workload runs a scripted workload on a hub served over WebSocket: two
// clients subscribe to "scores", one also to an invalid topic, and five
// updates are published and read by both. It returns the hub and handler.
func workload(t *testing.T) (*fanout.Hub, *ws.Handler) {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{})
	h := ws.NewHandler(hub, ws.Options{})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
		_ = hub.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var conns []*websocket.Conn
	for i := range 2 {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		send(ctx, t, c, `{"action":"subscribe","topic":"scores","id":1}`)
		if i == 0 {
			send(ctx, t, c, `{"action":"subscribe","topic":"no spaces allowed"}`)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		readUntil(ctx, t, c, `"type":"subscribed"`)
	}
	for range 5 {
		if _, err := hub.Publish("scores", []byte(`{"home":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		readUntil(ctx, t, c, `"seq":5`)
	}
	return hub, h
}

func send(ctx context.Context, t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads frames until one holds s.
func readUntil(ctx context.Context, t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", s, err)
		}
		if strings.Contains(string(b), s) {
			return
		}
	}
}

// The values the workload must show.
var want = []string{
	"fanout_topics 1",
	"fanout_subscribers 2",
	"fanout_published_total 5",
	"fanout_delivered_total 10",
	"fanout_slow_consumers_total 0",
	"fanout_queued_messages 0",
	"fanout_broker_up 1",
	`fanout_connections{transport="ws"} 2`,
	`fanout_subscriptions{transport="ws"} 2`,
	`fanout_rejected_total{transport="ws",code="invalid_topic"} 1`,
	`fanout_write_latency_seconds_count{transport="ws"} 10`,
	`fanout_write_latency_seconds_bucket{transport="ws",le="+Inf"} 10`,
	"# TYPE fanout_write_latency_seconds histogram",
}

func TestHandler(t *testing.T) {
	hub, h := workload(t)
	rec := httptest.NewRecorder()
	metrics.NewHandler(hub, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != metrics.ContentType {
		t.Errorf("Content-Type %q, want %q", ct, metrics.ContentType)
	}
	body, _ := io.ReadAll(rec.Body)
	lines := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("no line %q in\n%s", w, body)
		}
	}
}

func TestExpvar(t *testing.T) {
	hub, h := workload(t)
	var got map[string]any
	if err := json.Unmarshal([]byte(metrics.Expvar(hub, h).String()), &got); err != nil {
		t.Fatal(err)
	}
	if got["fanout_published_total"] != 5.0 {
		t.Errorf("fanout_published_total = %v, want 5", got["fanout_published_total"])
	}
	conns, _ := got["fanout_connections"].(map[string]any)
	if conns["ws"] != 2.0 {
		t.Errorf("fanout_connections = %v, want ws: 2", got["fanout_connections"])
	}
}

func TestSpecsMatchGather(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	fams, specs := metrics.Gather(hub), metrics.Specs()
	if len(fams) != len(specs) {
		t.Fatalf("Gather returned %d families, Specs %d", len(fams), len(specs))
	}
	for i := range specs {
		if fams[i].Name != specs[i].Name {
			t.Errorf("family %d is %s, spec %s", i, fams[i].Name, specs[i].Name)
		}
	}
}
