package e2e

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// gateways serves the scoreboard from n gateways, hubs that share one
// in-process broker as several processes would share Redis; the feed
// publishes through the first. The first refuses WebSocket when noWS is
// set, as a proxy that does not pass it would, so its pages use SSE. The
// test's cleanup closes everything.
func gateways(t *testing.T, n int, noWS bool) []*httptest.Server {
	t.Helper()
	mb := memory.New(memory.Options{})
	var hubs []*fanout.Hub
	var servers []*httptest.Server
	for i := range n {
		hub := fanout.NewHub(fanout.Options{Broker: mb.Connect(), TopicConfig: game.TopicConfig})
		srv := game.NewServer(hub, game.ServerOptions{})
		var h http.Handler = srv
		if i == 0 && noWS {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/ws" {
					http.Error(w, "no WebSocket through this proxy", http.StatusForbidden)
					return
				}
				srv.ServeHTTP(w, r)
			})
		}
		ts := httptest.NewServer(h)
		t.Cleanup(func() {
			_ = srv.Close()
			ts.Close()
			_ = hub.Close()
		})
		hubs = append(hubs, hub)
		servers = append(servers, ts)
	}
	in := game.NewIngester(hubs[0], slog.New(slog.DiscardHandler))
	if err := in.AddGame(t.Context(), game.NewGame("g1", northbridge, eastport)); err != nil {
		t.Fatal(err)
	}
	return servers
}

// tab opens another tab of b's browser, and returns it and the function
// that closes it.
func (b *browser) tab() (*browser, func()) {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	return &browser{t: b.t, ctx: ctx, timeout: b.timeout}, cancel
}

// waitWatching waits until the page shows n watching game id.
func (b *browser) waitWatching(id string, n int) {
	b.t.Helper()
	b.waitFor(
		"game "+id+" watched by "+strconv.Itoa(n),
		`(() => { const c = document.querySelector('[data-game=`+id+`]');
			return c && c.dataset.watching === '`+strconv.Itoa(n)+`' && c.querySelector('.watching').textContent === '`+strconv.Itoa(n)+` watching'; })()`,
		`JSON.stringify([...document.querySelectorAll('[data-game]')].map((c) => c.dataset.game + ': ' + c.querySelector('.watching').textContent))`)
}

// TestScoreboardShowsWatching: a page shows how many pages watch each game,
// over both gateways: 1, then 2 when a page on the other gateway joins,
// then 1 again when that one leaves; the first page over WebSocket, then
// over Server-Sent Events.
func TestScoreboardShowsWatching(t *testing.T) {
	for _, transport := range []string{"ws", "sse"} {
		t.Run(transport, func(t *testing.T) { testWatching(t, transport) })
	}
}

// testWatching runs TestScoreboardShowsWatching with the first page on
// transport.
func testWatching(t *testing.T, transport string) {
	gw := gateways(t, 2, transport == "sse")
	first := newBrowser(t)
	first.open(gw[0].URL)
	first.waitOpen(transport)
	first.waitWatching("g1", 1)

	second, closeSecond := first.tab()
	second.open(gw[1].URL)
	second.waitWatching("g1", 2)
	first.waitWatching("g1", 2)
	first.screenshot("two-watching")

	closeSecond()
	first.waitWatching("g1", 1)
}
