package prometheus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout"
	fanoutprom "github.com/fanout-go/fanout/metrics/prometheus"
	"github.com/fanout-go/fanout/transport/ws"
	"net/http/httptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// workload: two WebSocket clients subscribe to "scores" (one also to an
// invalid topic), five updates are published and read by both, then one
// client leaves.
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
		write(ctx, t, c, `{"action":"subscribe","topic":"scores"}`)
		if i == 0 {
			write(ctx, t, c, `{"action":"subscribe","topic":"no spaces allowed"}`)
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

func write(ctx context.Context, t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

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

func TestCollectAndLint(t *testing.T) {
	hub, h := workload(t)
	problems, err := testutil.CollectAndLint(fanoutprom.NewCollector(hub, h))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestValues(t *testing.T) {
	hub, h := workload(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(fanoutprom.NewCollector(hub, h))
	want := `
# HELP fanout_published_total Messages published through this node.
# TYPE fanout_published_total counter
fanout_published_total 5
# HELP fanout_delivered_total Messages queued for subscribers.
# TYPE fanout_delivered_total counter
fanout_delivered_total 10
# HELP fanout_subscribers Subscribers (connections, held polls) on the hub.
# TYPE fanout_subscribers gauge
fanout_subscribers 2
# HELP fanout_connections Open connections (event streams, held polls) per transport.
# TYPE fanout_connections gauge
fanout_connections{transport="ws"} 2
# HELP fanout_subscriptions Topics subscribed over the open connections, per transport.
# TYPE fanout_subscriptions gauge
fanout_subscriptions{transport="ws"} 2
# HELP fanout_rejected_total Commands and topics refused, by protocol error code.
# TYPE fanout_rejected_total counter
fanout_rejected_total{code="invalid_topic",transport="ws"} 1
# HELP fanout_slow_consumers_total Subscribers ended because their queue overflowed.
# TYPE fanout_slow_consumers_total counter
fanout_slow_consumers_total 0
`
	names := []string{"fanout_published_total", "fanout_delivered_total", "fanout_subscribers", "fanout_connections",
		"fanout_subscriptions", "fanout_rejected_total", "fanout_slow_consumers_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fanout_write_latency_seconds" {
			continue
		}
		hist := mf.GetMetric()[0].GetHistogram()
		if hist.GetSampleCount() != 10 {
			t.Errorf("fanout_write_latency_seconds count %d, want 10 (5 updates to 2 clients)", hist.GetSampleCount())
		}
		return
	}
	t.Error("no fanout_write_latency_seconds family")
}
