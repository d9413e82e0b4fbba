package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
	"github.com/fanout-go/fanout/transport/sse"
)

// JavaScript that describes the page when a wait fails.
const describePage = `JSON.stringify({
	states: window.scoreboard && window.scoreboard.states,
	log: window.scoreboard && window.scoreboard.log.slice(-12),
	scores: [...document.querySelectorAll('[data-game]')].map((c) => c.dataset.game + ' ' +
		c.querySelector('[data-score=home]').textContent + '-' + c.querySelector('[data-score=away]').textContent),
})`

// waitScore waits until the page shows game id at home-away.
func (b *browser) waitScore(id string, home, away int) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s at %d-%d", id, home, away), fmt.Sprintf(`(() => {
		const card = document.querySelector('[data-game=%q]');
		return card && card.querySelector('[data-score=home]').textContent === '%d' &&
			card.querySelector('[data-score=away]').textContent === '%d';
	})()`, id, home, away), describePage)
}

// waitOpen waits until the page's client is connected over transport
// ("ws" or "sse").
func (b *browser) waitOpen(transport string) {
	b.t.Helper()
	b.waitFor("connected over "+transport, fmt.Sprintf(
		`document.body.dataset.state === 'open' && document.body.dataset.transport === %q`, transport), describePage)
}

// position returns the client's position in topic.
func (b *browser) position(topic string) fanout.Position {
	b.t.Helper()
	p := eval[*struct {
		Epoch string `json:"epoch"`
		Seq   uint64 `json:"seq"`
	}](b, fmt.Sprintf(`window.scoreboard.client.position(%q)`, topic))
	if p == nil {
		b.t.Fatalf("the client has no position in %s", topic)
	}
	return fanout.Position{Epoch: p.Epoch, Seq: p.Seq}
}

// pageLog returns the page's message log: "type topic epoch:seq" entries.
func (b *browser) pageLog() []string { return eval[[]string](b, `window.scoreboard.log`) }

// checkResumed checks that the page received topic's messages after from
// as exactly n updates numbered from.Seq+1 on, with no snapshot or reset:
// the client resumed, and missed nothing.
func checkResumed(t *testing.T, log []string, topic string, from fanout.Position, n int) {
	t.Helper()
	at := fmt.Sprintf(" %s %s:%d", topic, from.Epoch, from.Seq)
	i := len(log) - 1
	for i >= 0 && !strings.HasSuffix(log[i], at) {
		i--
	}
	if i < 0 {
		t.Fatalf("the log has no message at %s: %q", at, log)
	}
	var after []string
	for _, e := range log[i+1:] {
		if strings.Fields(e)[1] == topic {
			after = append(after, e)
		}
	}
	want := make([]string, n)
	for k := range want {
		want[k] = "update " + topic + " " + from.Epoch + ":" + strconv.FormatUint(from.Seq+uint64(k)+1, 10)
	}
	if strings.Join(after, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after %s the page got\n%s\nwant\n%s", at, strings.Join(after, "\n"), strings.Join(want, "\n"))
	}
}

func TestScoreboardShowsTheScoreOnLoad(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitOpen("ws")
	b.waitScore("g1", 1, 0)
	b.waitScore("g2", 0, 0)
	b.waitFor("the phases", `document.querySelector('[data-game=g1] .phase').textContent === 'Live · 1st half' &&
		document.querySelector('[data-game=g2] .phase').textContent === 'Kick-off soon'`, describePage)
	b.waitFor("the goal in the timeline", `document.querySelector('[data-game=g1] .timeline').textContent.includes("Okafor")`, describePage)
	b.screenshot("loaded")
}

func TestScoreboardUpdatesLive(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitScore("g1", 1, 0)

	board.event("g1", game.Goal, 31, game.Away, "Berg")
	b.waitScore("g1", 1, 1)
	board.event("g1", game.YellowCard, 38, game.Home, "Doyle")
	board.event("g1", game.HalfTime, 45, "", "")
	board.event("g2", game.KickOff, 0, "", "")
	board.event("g2", game.Goal, 4, game.Away, "Sato")
	b.waitScore("g2", 0, 1)
	b.waitFor("half time", `document.querySelector('[data-game=g1] .phase').textContent === 'Half time'`, describePage)
	b.waitFor("the booking", `document.querySelectorAll('[data-game=g1] .home .bookings i').length === 1`, describePage)
	b.screenshot("live")
}

func TestScoreboardFollowsTheIndex(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitScore("g2", 0, 0)

	board.replace("g2", game.NewGame("g3", ravensmoor, kelham))
	board.event("g3", game.KickOff, 0, "", "")
	board.event("g3", game.Goal, 2, game.Home, "Sato")
	b.waitScore("g3", 1, 0)
	b.waitFor("g2 gone, g1 then g3", `[...document.querySelectorAll('[data-game]')].map((c) => c.dataset.game).join() === 'g1,g3'`, describePage)
	if topics := eval[[]string](b, `[...window.scoreboard.cards.keys()]`); strings.Join(topics, ",") != "g1,g3" {
		t.Fatalf("the page follows %q, want g1 and g3", topics)
	}
	if eval[bool](b, `window.scoreboard.client.position('game-updates:g2') !== null`) {
		t.Fatal("the client still subscribes to g2")
	}
	b.screenshot("replaced")
}

func TestScoreboardResumesAfterTheServerDropsConnections(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitOpen("ws")
	b.waitScore("g1", 1, 0)
	from := b.position(game.Topic("g1"))

	dropped := time.Now()
	board.dropAll()
	// Goals while the page reconnects: none may be missed.
	board.event("g1", game.Goal, 20, game.Home, "Okafor")
	board.event("g1", game.Goal, 24, game.Away, "Berg")
	board.event("g1", game.Goal, 29, game.Home, "Abara")

	b.waitScore("g1", 3, 1)
	t.Logf("the page showed the goals %v after every connection dropped", time.Since(dropped).Round(time.Millisecond))
	b.waitOpen("ws")
	b.waitFor("a reconnect", `window.scoreboard.states.includes('reconnecting ws')`, describePage)
	checkResumed(t, b.pageLog(), game.Topic("g1"), from, 3)
	b.waitFor("every goal in the timeline", `(() => {
		const text = document.querySelector('[data-game=g1] .timeline').textContent;
		return ["20'", "24'", "29'"].every((m) => text.includes(m));
	})()`, describePage)
	b.screenshot("resumed")
}

func TestScoreboardResetsAfterARestart(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitOpen("ws")
	b.waitScore("g1", 1, 0)
	before := b.position(game.Topic("g1"))

	restarted := time.Now()
	board.restart()
	board.event("g1", game.Goal, 33, game.Home, "Abara")

	b.waitScore("g1", 2, 0)
	t.Logf("the page showed the new state %v after the restart", time.Since(restarted).Round(time.Millisecond))
	b.waitScore("g2", 0, 0)
	after := b.position(game.Topic("g1"))
	if after.Epoch == before.Epoch {
		t.Fatalf("the client still holds epoch %s after the restart", before.Epoch)
	}
	b.waitFor("a reset", fmt.Sprintf(`window.scoreboard.log.some((e) => e.startsWith('reset %s %s:'))`,
		game.Topic("g1"), after.Epoch), describePage)
	b.screenshot("reset")
}

func TestScoreboardFallsBackToSSE(t *testing.T) {
	board := newBoard(t)
	board.refuseWS.Store(true)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitOpen("sse")
	b.waitScore("g1", 1, 0)
	b.waitFor("WebSocket tried first", `window.scoreboard.states[0] === 'connecting ws'`, describePage)

	board.event("g1", game.Goal, 15, game.Away, "Berg")
	b.waitScore("g1", 1, 1)
	from := b.position(game.Topic("g1"))

	// The stream drops: the browser reconnects with Last-Event-ID and
	// resumes every topic.
	dropped := time.Now()
	board.dropAll()
	board.event("g1", game.Goal, 18, game.Away, "Costa")
	b.waitScore("g1", 1, 2)
	t.Logf("the page showed the goal %v after the stream dropped", time.Since(dropped).Round(time.Millisecond))
	b.waitOpen("sse")
	checkResumed(t, b.pageLog(), game.Topic("g1"), from, 1)
	b.screenshot("sse")
}

func TestScoreboardMovesToSSEAndResumes(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitOpen("ws")
	b.waitScore("g1", 1, 0)
	from := b.position(game.Topic("g1"))

	// WebSocket stops working: the client falls back to SSE, opening the
	// stream with a cursor built from its positions, and resumes.
	board.refuseWS.Store(true)
	dropped := time.Now()
	board.dropAll()
	board.event("g1", game.Goal, 22, game.Home, "Abara")
	board.event("g1", game.Goal, 25, game.Home, "Okafor")
	b.waitOpen("sse")
	b.waitScore("g1", 3, 0)
	t.Logf("the page showed the goals over SSE %v after WebSocket went away", time.Since(dropped).Round(time.Millisecond))
	checkResumed(t, b.pageLog(), game.Topic("g1"), from, 2)
	b.screenshot("moved-to-sse")
}

// TestClientCursorMatchesTheServer checks that fanout.js encodes the SSE
// cursor as the SSE transport does.
func TestClientCursorMatchesTheServer(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)

	topics := []string{"game-updates:g1", "game-updates:index", "x", "a/b@c~d"}
	pos := []fanout.Position{{Epoch: "k3Xq9a_Z", Seq: 41}, {}, {Epoch: "Zt9a0000", Seq: 123456}, {Epoch: "-_aZ09", Seq: 1 << 40}}
	got := eval[string](b, `import('./fanout.js').then((m) => m.encodeCursor([
		{name: 'game-updates:g1', epoch: 'k3Xq9a_Z', seq: 41},
		{name: 'game-updates:index', epoch: null, seq: 0},
		{name: 'x', epoch: 'Zt9a0000', seq: 123456},
		{name: 'a/b@c~d', epoch: '-_aZ09', seq: 2 ** 40},
	]))`)
	if want := sse.EncodeCursor(topics, pos); got != want {
		t.Fatalf("fanout.js encodes %q, the server %q", got, want)
	}
	if got := eval[string](b, `import('./fanout.js').then((m) => m.encodeCursor([{name: 'a', epoch: null, seq: 0}]))`); got != "" {
		t.Fatalf("no positions: fanout.js encodes %q, want no cursor", got)
	}
}
