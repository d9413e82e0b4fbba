package ws_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFrameLengths: text frames of every header form (a 7-bit, a 16-bit
// and a 64-bit length, RFC 6455 section 5.2) and at their edges carry
// their messages whole, whether batched in the writer's buffer or sent
// alone (a message of MaxFrameSize or more), read by a client that parses
// the frames itself.
func TestFrameLengths(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{MaxMessageSize: 2 << 20})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{PingInterval: -1})
	br := rawDial(t, s, appendMaskedText(nil, `{"action":"subscribe","topic":"sizes"}`))
	readLines(t, br, 2) // subscribed, and the snapshot

	// The encoding wraps the data in about 70 bytes: sweep its length
	// over the 125/126 and 65535/65536 edges, and well beyond.
	var pads []int
	for n := 20; n <= 80; n++ {
		pads = append(pads, n)
	}
	for n := 65400; n <= 65520; n++ {
		pads = append(pads, n)
	}
	pads = append(pads, 100_000, 1<<20)
	seen := map[string]bool{}
	for _, n := range pads {
		data := `"` + strings.Repeat("x", n) + `"`
		publish(t, s.hub, "sizes", data)
		frame := readText(t, br)
		switch {
		case len(frame) < 126:
			seen["7-bit"] = true
		case len(frame) <= 0xffff:
			seen["16-bit"] = true
		default:
			seen["64-bit"] = true
		}
		var m msg
		require.NoError(t, json.Unmarshal([]byte(frame), &m), "a frame of %d bytes holds one message", len(frame))
		require.Equal(t, "update", m.Type)
		require.JSONEq(t, data, string(m.Data), "the data of %d bytes", n)
	}
	assert.Len(t, seen, 3, "every header form was written: %v", seen)
}

// readLines reads frames until it has n lines.
func readLines(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	var lines []string
	for len(lines) < n {
		lines = append(lines, strings.Split(readText(t, br), "\n")...)
	}
	return lines
}
