package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fanout-go/fanout/web"
)

// These tests drive fanout.js against a scripted WebSocket server, to
// check how the client reacts to what a real server rarely does: frames of
// several messages with duplicates, close codes, gaps, refused topics.

// clientPage loads fanout.js with the options in the URL fragment and
// records what the client reports in window.t.events.
const clientPage = `<!doctype html><meta charset="utf-8"><title>fanout.js</title><link rel="icon" href="data:,">
<script type="module">
import { FanoutClient } from '/fanout.js';
const options = JSON.parse(decodeURIComponent(location.hash.slice(1) || '{}'));
const events = [];
const client = new FanoutClient({ ws: '/ws', ...options,
	onstate: (state, info) => events.push(['state', state, info.transport, info.code || 0]) });
const record = (type) => (data, m) => events.push([type, m.topic, m.seq, JSON.stringify(data)]);
window.t = { client, events,
	sub: (topic) => { client.subscribe(topic, { onSnapshot: record('snapshot'), onUpdate: record('update'),
		onReset: record('reset'), onError: (e) => events.push(['error', topic, e.code]) }); return true; },
};
</script>`

// script is a WebSocket server whose connections the test drives.
type script struct {
	t     *testing.T
	ts    *httptest.Server
	conns chan *scriptConn

	mu   sync.Mutex // guards open
	open []*scriptConn
	wg   sync.WaitGroup // handlers
}

// scriptConn is one connection: the test reads its commands and writes
// its frames.
type scriptConn struct {
	c    *websocket.Conn
	cmds chan map[string]any
}

func newScript(t *testing.T) *script {
	t.Helper()
	s := &script{t: t, conns: make(chan *scriptConn, 16)}
	mux := http.NewServeMux()
	mux.Handle("GET /fanout.js", web.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, clientPage)
	})
	mux.HandleFunc("/ws", s.serveWS)
	s.ts = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.open {
			c.c.CloseNow()
		}
		s.mu.Unlock()
		s.ts.Close()
		s.wg.Wait()
	})
	return s
}

func (s *script) serveWS(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	sc := &scriptConn{c: c, cmds: make(chan map[string]any, 64)}
	s.mu.Lock()
	s.open = append(s.open, sc)
	s.mu.Unlock()
	s.conns <- sc
	defer close(sc.cmds)
	for {
		_, b, err := c.Read(context.Background())
		if err != nil {
			return
		}
		var cmd map[string]any
		if json.Unmarshal(b, &cmd) == nil {
			select {
			case sc.cmds <- cmd:
			default: // the test does not read them all
			}
		}
	}
}

// url returns the page's URL with the client options opts.
func (s *script) url(opts string) string { return s.ts.URL + "/#" + url.PathEscape(opts) }

// accept returns the next connection the client opens.
func (s *script) accept() *scriptConn {
	s.t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(waitTimeout):
		s.t.Fatal("the client did not connect")
		return nil
	}
}

// command returns the connection's next command.
func (c *scriptConn) command(t *testing.T) map[string]any {
	t.Helper()
	select {
	case cmd, ok := <-c.cmds:
		if !ok {
			t.Fatal("the connection closed before a command")
		}
		return cmd
	case <-time.After(waitTimeout):
		t.Fatal("no command from the client")
		return nil
	}
}

// send writes one frame holding the messages, one per line.
func (c *scriptConn) send(t *testing.T, msgs ...string) {
	t.Helper()
	if err := c.c.Write(context.Background(), websocket.MessageText, []byte(strings.Join(msgs, "\n"))); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func msg(typ, topic, epoch string, seq int, data string) string {
	return fmt.Sprintf(`{"type":%q,"topic":%q,"epoch":%q,"seq":%d,"data":%s}`, typ, topic, epoch, seq, data)
}

// waitEvents waits until the page's recorded events, as JSON, contain
// want.
func (b *browser) waitEvents(want string) {
	b.t.Helper()
	b.waitFor(want, fmt.Sprintf(`JSON.stringify(window.t.events).includes(%q)`, want), `JSON.stringify(window.t.events)`)
}

// dataEvents returns the page's recorded events but for the states, as
// JSON.
func (b *browser) dataEvents() string {
	b.t.Helper()
	return eval[string](b, `JSON.stringify(window.t.events.filter((e) => e[0] !== 'state'))`)
}

// resubscribed opens the page with options, subscribes to a, answers with
// a snapshot at E1:1 and has the page unsubscribe from a and subscribe to
// it again in the same task. The server has read nothing of that yet.
func resubscribed(t *testing.T, options string) (*browser, *scriptConn) {
	t.Helper()
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(options))
	eval[bool](b, `window.t.sub('a')`)
	c := s.accept()
	c.command(t)
	c.send(t, msg("snapshot", "a", "E1", 1, `1`))
	b.waitEvents(`["snapshot","a",1,"1"]`)
	eval[bool](b, `window.t.client.unsubscribe('a') && window.t.sub('a')`)
	return b, c
}

func TestClientDropsDuplicatesInMultiMessageFrames(t *testing.T) {
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(`{}`))
	eval[bool](b, `window.t.sub('a')`)
	c := s.accept()
	if cmd := c.command(t); cmd["action"] != "subscribe" || cmd["topic"] != "a" || cmd["epoch"] != nil {
		t.Fatalf("first command %v, want a fresh subscribe to a", cmd)
	}
	c.send(t,
		`{"type":"subscribed","topic":"a","id":1}`,
		msg("snapshot", "a", "E1", 5, `{"v":5}`),
		msg("update", "a", "E1", 6, `{"v":6}`),
		msg("update", "a", "E1", 6, `{"v":6}`), // a duplicate
		msg("update", "a", "E1", 4, `{"v":4}`), // an old one
		msg("update", "a", "E1", 7, `{"v":7}`),
	)
	b.waitEvents(`["update","a",7,`)
	got := b.dataEvents()
	want := `[["snapshot","a",5,"{\"v\":5}"],["update","a",6,"{\"v\":6}"],["update","a",7,"{\"v\":7}"]]`
	if got != want {
		t.Fatalf("the handlers saw\n%s\nwant\n%s", got, want)
	}
	b.screenshot("client")
}

func TestClientResumesAfterSlowConsumerClose(t *testing.T) {
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(`{"slowConsumerJitter": 50}`))
	eval[bool](b, `window.t.sub('a') && window.t.sub('b')`)
	c := s.accept()
	c.command(t)
	c.command(t)
	c.send(t, msg("snapshot", "a", "E1", 3, `1`), msg("update", "a", "E1", 4, `2`), msg("snapshot", "b", "F1", 9, `3`))
	b.waitEvents(`["snapshot","b",9,`)

	if err := c.c.Close(4000, "slow consumer"); err != nil {
		t.Logf("close: %v", err) // the client may close first
	}
	c2 := s.accept()
	got := map[string]string{}
	for range 2 {
		cmd := c2.command(t)
		got[cmd["topic"].(string)] = fmt.Sprintf("%v %v %v", cmd["action"], cmd["epoch"], cmd["since"])
	}
	if got["a"] != "subscribe E1 4" || got["b"] != "subscribe F1 9" {
		t.Fatalf("after 4000 the client sent %v, want resumes of a at E1:4 and b at F1:9", got)
	}
	b.waitEvents(`["state","reconnecting","ws",4000]`)
}

func TestClientStopsOnForbiddenClose(t *testing.T) {
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(`{}`))
	eval[bool](b, `window.t.sub('a')`)
	c := s.accept()
	c.command(t)
	if err := c.c.Close(websocket.StatusPolicyViolation, "forbidden"); err != nil {
		t.Logf("close: %v", err)
	}
	b.waitEvents(`["state","closed","ws",1008]`)
	if state := eval[string](b, `window.t.client.state`); state != "closed" {
		t.Fatalf("state %q after 1008, want closed", state)
	}
}

func TestClientResyncsOnAGap(t *testing.T) {
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(`{"backoffBase": 50}`))
	eval[bool](b, `window.t.sub('a')`)
	c := s.accept()
	c.command(t)
	c.send(t, msg("snapshot", "a", "E1", 3, `1`), msg("update", "a", "E1", 5, `2`)) // 4 is missing
	c2 := s.accept()
	if cmd := c2.command(t); cmd["epoch"] != "E1" || cmd["since"] != float64(3) {
		t.Fatalf("after a gap the client sent %v, want a resume at E1:3", cmd)
	}
	// A gap the server marks is not lost place.
	c2.send(t, msg("update", "a", "E1", 4, `2`), `{"type":"update","topic":"a","epoch":"E1","seq":9,"gap":true,"data":3}`)
	b.waitEvents(`["update","a",9,"3"]`)
}

func TestClientHandlesRefusedTopics(t *testing.T) {
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(`{"backoffBase": 50}`))
	eval[bool](b, `window.t.sub('secret') && window.t.sub('busy')`)
	c := s.accept()
	ids := map[string]any{}
	for range 2 {
		cmd := c.command(t)
		ids[cmd["topic"].(string)] = cmd["id"]
	}
	c.send(t,
		fmt.Sprintf(`{"type":"error","code":"forbidden","message":"no","id":%v}`, ids["secret"]),
		fmt.Sprintf(`{"type":"error","code":"unavailable","message":"later","topic":"busy","id":%v}`, ids["busy"]),
	)
	b.waitEvents(`["error","secret","forbidden"]`)
	if cmd := c.command(t); cmd["topic"] != "busy" || cmd["action"] != "subscribe" {
		t.Fatalf("after unavailable the client sent %v, want busy subscribed again", cmd)
	}
	if pos := eval[bool](b, `window.t.client.unsubscribe('secret')`); pos {
		t.Fatal("the forbidden topic is still subscribed")
	}
}

// countSockets makes the page count the WebSockets it creates in
// window.sockets, so that a test can see a connection the client should
// not have opened without waiting for it.
const countSockets = `(() => {
	window.sockets = 0;
	const Native = window.WebSocket;
	window.WebSocket = class extends Native {
		constructor(...args) { super(...args); window.sockets++; }
	};
	return true;
})()`

// TestClientStaysClosedWhenOnstateCloses checks that close() called from
// the onstate callback ends the client for good: no reconnect timer left
// behind to open a new connection.
func TestClientStaysClosedWhenOnstateCloses(t *testing.T) {
	t.Run("connecting", func(t *testing.T) {
		s := newScript(t)
		b := newBrowser(t)
		b.open(s.url(`{}`))
		eval[bool](b, countSockets)
		got := eval[string](b, `(() => {
			const c = window.t.client;
			c.onstate = (state) => { if (state === 'connecting') c.close(); };
			window.t.sub('a');
			return c.state + ' ' + window.sockets;
		})()`)
		if got != "closed 0" {
			t.Fatalf("after close() in onstate(connecting) the client is %q (state, WebSockets opened), want \"closed 0\"", got)
		}
	})
	t.Run("reconnecting", func(t *testing.T) {
		s := newScript(t)
		b := newBrowser(t)
		b.open(s.url(`{"backoffBase": 0}`))
		eval[bool](b, `window.t.sub('a')`)
		c := s.accept()
		c.command(t)
		b.waitEvents(`["state","open","ws",0]`)
		eval[bool](b, countSockets)
		// The client's reconnect timer, if it set one, has a delay of 0 and
		// was set after onstate returned: it runs before the second of two
		// nested zero timers started in onstate.
		eval[bool](b, `(() => {
			const c = window.t.client;
			window.t.after = new Promise((resolve) => {
				let done = false;
				c.onstate = (state) => {
					if (done || state !== 'reconnecting') return;
					done = true;
					c.close();
					setTimeout(() => setTimeout(() => resolve(c.state + ' ' + window.sockets)));
				};
			});
			return true;
		})()`)
		if err := c.c.Close(websocket.StatusInternalError, "internal error"); err != nil {
			t.Logf("close: %v", err)
		}
		if got := eval[string](b, `window.t.after`); got != "closed 0" {
			t.Fatalf("after close() in onstate(reconnecting) the client is %q (state, WebSockets opened), want \"closed 0\"", got)
		}
	})
}

// TestClientWorksWithoutEventSource checks the client where only WebSocket
// exists (a worker, a server-side runtime): it connects and closes cleanly.
func TestClientWorksWithoutEventSource(t *testing.T) {
	s := newScript(t)
	b := newBrowser(t)
	b.open(s.url(`{}`))
	eval[bool](b, `import('/fanout.js').then((m) => {
		delete window.EventSource;
		window.wsOnly = new m.FanoutClient({ ws: '/ws', sse: '/events' });
		window.wsOnly.subscribe('a', {});
		return typeof EventSource === 'undefined';
	})`)
	c := s.accept()
	if cmd := c.command(t); cmd["topic"] != "a" {
		t.Fatalf("first command %v, want a subscribe to a", cmd)
	}
	b.waitFor("open", `window.wsOnly.state === 'open'`, `window.wsOnly.state`)
	got := eval[string](b, `(() => {
		try {
			window.wsOnly.close();
			return window.wsOnly.state;
		} catch (err) {
			return String(err);
		}
	})()`)
	if got != "closed" {
		t.Fatalf("close() without EventSource: %s, want the client closed", got)
	}
}

// TestClientIgnoresTheOldSubscriptionsUpdates: every subscription starts
// with a snapshot, so an update of a topic that has no position yet is an
// earlier subscription's (a server that sends one late): it is dropped,
// not handed to the new handlers.
func TestClientIgnoresTheOldSubscriptionsUpdates(t *testing.T) {
	b, c := resubscribed(t, `{}`)
	cmd := c.command(t)
	if cmd["action"] != "unsubscribe" {
		t.Fatalf("first command %v, want the unsubscribe", cmd)
	}
	c.send(t, fmt.Sprintf(`{"type":"unsubscribed","topic":"a","reason":"requested","id":%v}`, cmd["id"]))
	if cmd := c.command(t); cmd["action"] != "subscribe" || cmd["epoch"] != nil {
		t.Fatalf("second command %v, want a fresh subscribe", cmd)
	}
	c.send(t,
		msg("update", "a", "E1", 2, `2`), // the old subscription's, late
		msg("snapshot", "a", "E1", 2, `2`),
		msg("update", "a", "E1", 3, `3`),
	)
	b.waitEvents(`["update","a",3,"3"]`)
	got := b.dataEvents()
	want := `[["snapshot","a",1,"1"],["snapshot","a",2,"2"],["update","a",3,"3"]]`
	if got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// TestClientWaitsForTheUnsubscribe: a topic subscribed again over
// WebSocket while its unsubscribe is unconfirmed is sent once the server
// confirms it, and an unsubscribe refused as rate limited is sent again:
// the server never holds the old subscription when the new one starts.
func TestClientWaitsForTheUnsubscribe(t *testing.T) {
	b, c := resubscribed(t, `{"backoffBase": 20}`)
	cmd := c.command(t)
	if cmd["action"] != "unsubscribe" || cmd["id"] == nil {
		t.Fatalf("first command %v, want the unsubscribe with an id", cmd)
	}
	c.send(t, fmt.Sprintf(`{"type":"error","code":"rate_limited","message":"slow down","topic":"a","id":%v}`, cmd["id"]))
	cmd = c.command(t)
	if cmd["action"] != "unsubscribe" {
		t.Fatalf("after a rate-limited unsubscribe the client sent %v, want the unsubscribe again", cmd)
	}
	c.send(t,
		msg("update", "a", "E1", 2, `2`), // the old subscription's
		fmt.Sprintf(`{"type":"unsubscribed","topic":"a","reason":"requested","id":%v}`, cmd["id"]),
	)
	if cmd = c.command(t); cmd["action"] != "subscribe" || cmd["epoch"] != nil {
		t.Fatalf("after the unsubscribe the client sent %v, want a fresh subscribe", cmd)
	}
	c.send(t, msg("snapshot", "a", "E1", 2, `2`), msg("update", "a", "E1", 3, `3`))
	b.waitEvents(`["update","a",3,"3"]`)
	got := b.dataEvents()
	want := `[["snapshot","a",1,"1"],["snapshot","a",2,"2"],["update","a",3,"3"]]`
	if got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}
