package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/ticker/market"
)

const describeTicker = `JSON.stringify({
	states: window.ticker && window.ticker.states,
	rows: window.ticker && window.ticker.rows.size,
	gaps: window.ticker && window.ticker.gaps,
})`

// TestTickerStaysCurrentOnABusyPage floods a page that spends 80 ms of
// every animation frame on other work with bursts of price changes. The
// connection conflates and the page draws once per frame, so it is never
// disconnected and ends up showing every instrument's latest price.
func TestTickerStaysCurrentOnABusyPage(t *testing.T) {
	for _, transport := range []string{"ws", "sse"} {
		t.Run(transport, func(t *testing.T) { testBusyTicker(t, transport) })
	}
}

// testBusyTicker runs the busy ticker over transport: "ws", or "sse" with
// WebSocket refused, so that the page follows 201 topics in one event
// stream.
func testBusyTicker(t *testing.T, transport string) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	m := market.New(hub, 200, 42)
	if err := m.PublishAll(); err != nil {
		t.Fatal(err)
	}
	srv := market.NewServer(hub)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if transport == "sse" && r.URL.Path == "/ws" {
			http.Error(w, "no WebSocket here", http.StatusNotFound)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		hub.Close()
	})

	b := newBrowser(t)
	b.timeout = 3 * waitTimeout // a busy page under the race detector on a shared machine is slow
	b.open(ts.URL)
	b.waitFor("200 rows drawn", `window.ticker && window.ticker.rows.size === 200 &&
		[...window.ticker.rows.values()].every((r) => r.price.textContent !== '')`, describeTicker)
	b.waitFor("connected over "+transport, `document.body.dataset.transport === '`+transport+`'`, describeTicker)
	b.screenshot("loaded")

	eval[bool](b, `document.getElementById('busy').checked = true`)
	const bursts, perBurst = 4, 2500
	for range bursts {
		if err := m.Step(perBurst); err != nil {
			t.Fatal(err)
		}
	}

	want := map[string]string{}
	for _, q := range m.Quotes() {
		want[q.Sym] = strconv.FormatFloat(q.Price, 'f', 2, 64)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	b.waitFor("every latest price", `(() => {
		const want = `+string(js)+`;
		return [...window.ticker.rows].every(([sym, r]) => r.price.textContent === want[sym]);
	})()`, describeTicker)
	if states := eval[[]string](b, `window.ticker.states`); states[len(states)-1] != "open "+transport ||
		slices.Contains(states, "reconnecting "+transport) {
		t.Fatalf("the busy page's connection went through %q, want it open over %s throughout", states, transport)
	}
	t.Logf("%d price changes; the page saw %d of them conflated away", bursts*perBurst, eval[int](b, `window.ticker.gaps`))
	b.screenshot("busy")
}
