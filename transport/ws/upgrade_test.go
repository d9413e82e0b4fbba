package ws_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPipelinedCommands: commands a client sends right behind its upgrade
// request, in the same write, are all answered, whether they fit in the
// connection's small read buffer (one command) or not (net/http's buffer
// is kept: 30 commands, about 1.3 KiB).
func TestPipelinedCommands(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	for _, n := range []int{1, 30} {
		var cmds []byte
		for i := range n {
			cmds = appendMaskedText(cmds, fmt.Sprintf(`{"action":"subscribe","topic":"pipelined-%02d-%s","id":%d}`, i, strings.Repeat("x", 10), i))
		}
		br := rawDial(t, s, cmds)
		// Each topic gets its subscribed reply and its snapshot (null
		// data: the topics keep no state), 2n lines in all.
		lines := readLines(t, br, 2*n)
		require.Len(t, lines, 2*n)
		var replies []string
		snapshots := 0
		for _, l := range lines {
			switch {
			case strings.Contains(l, `"type":"subscribed"`):
				replies = append(replies, l)
			case strings.Contains(l, `"type":"snapshot"`) && strings.Contains(l, `"data":null`):
				snapshots++
			default:
				t.Errorf("unexpected line %s", l)
			}
		}
		assert.Equal(t, n, snapshots)
		require.Len(t, replies, n)
		for i, r := range replies {
			assert.Contains(t, r, fmt.Sprintf(`"id":%d`, i), "replies in order")
		}
	}
}

// rawDial upgrades a plain TCP connection to s, sending cmds (client
// frames) in the same write as the upgrade request, and returns the
// connection's reader, past the 101 response.
func rawDial(t *testing.T, s *server, cmds []byte) *bufio.Reader {
	t.Helper()
	nc, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(testTimeout)))
	req := "GET / HTTP/1.1\r\nHost: " + s.srv.Listener.Addr().String() + "\r\n" +
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	_, err = nc.Write(append([]byte(req), cmds...))
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return br
}

// appendMaskedText appends a client text frame (masked with a zero key,
// so the payload reads as is) of a payload shorter than 126 bytes.
func appendMaskedText(b []byte, payload string) []byte {
	b = append(b, 0x81, 0x80|byte(len(payload)), 0, 0, 0, 0)
	return append(b, payload...)
}

// readText reads one unfragmented server text frame.
func readText(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var h [2]byte
	_, err := io.ReadFull(br, h[:])
	require.NoError(t, err)
	require.Equal(t, byte(0x81), h[0], "a final text frame")
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var x [2]byte
		_, err = io.ReadFull(br, x[:])
		n = uint64(binary.BigEndian.Uint16(x[:]))
	case 127:
		var x [8]byte
		_, err = io.ReadFull(br, x[:])
		n = binary.BigEndian.Uint64(x[:])
	}
	require.NoError(t, err)
	p := make([]byte, n)
	_, err = io.ReadFull(br, p)
	require.NoError(t, err)
	return string(p)
}

type ctxKey struct{}

// TestServeHTTPReturns: ServeHTTP returns once the connection is upgraded
// (net/http then cancels the request's context); the connection goes on,
// and Auth.Subscribe sees the request's context values in a context that
// is not done until the connection closes.
func TestServeHTTPReturns(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	hookCtx := make(chan context.Context, 1)
	h := ws.NewHandler(hub, ws.Options{Auth: transport.Auth{
		Subscribe: func(r *http.Request, _ string) error {
			if r.Context().Value(ctxKey{}) != "alice" {
				return fmt.Errorf("no user")
			}
			hookCtx <- r.Context()
			return nil
		},
	}})
	returned := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "alice")))
		close(returned)
	}))
	t.Cleanup(func() {
		require.NoError(t, h.Close())
		srv.Close()
	})
	s := &server{hub: hub, h: h, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	cl := s.dial(t)
	select {
	case <-returned:
	case <-time.After(testTimeout):
		t.Fatal("ServeHTTP did not return after the upgrade")
	}
	require.Equal(t, 1, h.Len())

	cl.subscribe("a")
	cl.joined("a")
	ctx := <-hookCtx
	require.NoError(t, ctx.Err(), "the hook's context is live while the connection is open")
	publish(t, hub, "a", `1`)
	assert.EqualValues(t, 1, cl.nextData().Seq)

	require.NoError(t, cl.c.CloseNow())
	select {
	case <-ctx.Done():
	case <-time.After(testTimeout):
		t.Fatal("the hook's context outlived the connection")
	}
}

// TestNotHijackable: a ResponseWriter that cannot be hijacked (a wrapper
// without Hijack or Unwrap, or an HTTP/2 stream, which coder/websocket
// does not support) has its upgrade refused, and leaves nothing behind.
func TestNotHijackable(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	h := ws.NewHandler(hub, ws.Options{})
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Proto = proto
		r.ProtoMajor, r.ProtoMinor, _ = http.ParseHTTPVersion(proto)
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		w := httptest.NewRecorder() // not an http.Hijacker
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusNotImplemented, w.Code, proto)
		assert.Zero(t, h.Len())
	}
	require.NoError(t, h.Close())
	assert.Zero(t, hub.Stats().Subscribers)
}
