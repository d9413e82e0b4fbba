package game_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// TestServerMetrics: the server serves the hub's and transports' metrics
// at /metrics in the Prometheus text format.
func TestServerMetrics(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: game.TopicConfig})
	defer hub.Close()
	srv := game.NewServer(hub, game.ServerOptions{})
	defer srv.Close()
	if _, err := hub.Publish(game.Topic("g1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, body)
	}
	for _, want := range []string{"\nfanout_published_total 1\n", `fanout_connections{transport="ws"} 0`, `fanout_connections{transport="poll"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in /metrics:\n%s", want, body)
		}
	}
	if !game.TopicConfig(game.Topic("g1")).Occupancy || game.TopicConfig(game.IndexTopic).Occupancy {
		t.Error("occupancy should be on for the games' topics, off for the index")
	}
}
