package e2e

import (
	"encoding/json"
	"net/http/httptest"
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
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	m := market.New(hub, 200, 42)
	if err := m.PublishAll(); err != nil {
		t.Fatal(err)
	}
	srv := market.NewServer(hub)
	ts := httptest.NewServer(srv)
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
	if states := eval[[]string](b, `window.ticker.states`); len(states) != 2 || states[1] != "open ws" {
		t.Fatalf("the busy page's connection went through %q, want only connecting and open", states)
	}
	t.Logf("%d price changes; the page saw %d of them conflated away", bursts*perBurst, eval[int](b, `window.ticker.gaps`))
	b.screenshot("busy")
}
