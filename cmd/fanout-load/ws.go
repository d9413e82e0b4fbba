package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// readLimit bounds one frame the clients read: the server batches up to
// 64 KiB, and a single bigger message comes alone.
const readLimit = 16 << 20

// wsSession opens a WebSocket connection, subscribes to the client's
// topics (resuming those it has a position for) and checks what comes,
// until the connection ends or ctx is done.
func (c *client) wsSession(ctx context.Context) (bool, error) {
	conn, _, err := websocket.Dial(ctx, c.load.wsURL, &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)
	c.opened()
	defer c.closed()
	for _, t := range c.topics {
		if err := conn.Write(ctx, websocket.MessageText, c.subscribeCommand(t)); err != nil {
			return true, err
		}
	}
	var frame bytes.Buffer // reused: handle keeps nothing of a message
	for {
		typ, r, err := conn.Reader(ctx)
		if err == nil {
			frame.Reset()
			_, err = frame.ReadFrom(r)
		}
		if err != nil {
			return true, err
		}
		b, now := frame.Bytes(), time.Now()
		if typ != websocket.MessageText {
			c.load.st.violate(now.Sub(c.load.start), c.id, Malformed, "a binary frame")
			continue
		}
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			if len(line) > 0 {
				c.handle(line, "", now)
			}
		}
	}
}

// wsCommand is a client command (docs/protocol.md, "Client to server").
type wsCommand struct {
	Action string  `json:"action"`
	Topic  string  `json:"topic"`
	Epoch  string  `json:"epoch,omitempty"`
	Since  *uint64 `json:"since,omitempty"` // with Epoch; 0 is a position too
}

// subscribeCommand returns the subscribe command for topic: a resume from
// its position when it has one.
func (c *client) subscribeCommand(topic string) []byte {
	cmd := wsCommand{Action: "subscribe", Topic: topic}
	if epoch, seq, ok := c.chk.position(topic); ok {
		cmd.Epoch, cmd.Since = epoch, &seq
	}
	b, _ := json.Marshal(cmd)
	return b
}

// wsCloseCode returns the close code an error carries, or -1.
func wsCloseCode(err error) int {
	return int(websocket.CloseStatus(err))
}

// wsURL turns an http(s) base URL and a path into a ws(s) URL.
func wsURL(base, path string) string {
	if rest, ok := strings.CutPrefix(base, "http"); ok {
		base = "ws" + rest
	}
	return strings.TrimSuffix(base, "/") + path
}
