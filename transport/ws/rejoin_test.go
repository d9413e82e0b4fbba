package ws_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRejoinStartsWithSnapshot unsubscribes and subscribes a topic again,
// both commands sent at once, while the connection's writer is busy with
// another topic's large updates, thousands of times: no subscription
// starts with a reset, since none resumes. The replies overtake the queued
// messages, so each round begins while earlier subscriptions' first
// messages still wait behind the other topic's. (When the transport made a fresh join from a
// resume and rewrote its Reset into a snapshot, a rewrite could take an
// earlier subscription's first message, and the new one went out as a
// reset: 23 rounds of 2000.)
func TestRejoinStartsWithSnapshot(t *testing.T) {
	t.Parallel()
	rounds, burst := 2000, 8
	if testing.Short() {
		rounds = 200
	}
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{CommandRate: 1e9, CommandBurst: 1e6, QueueSize: 1 << 16, MaxFrameSize: 1024})
	c := s.dial(t)
	c.keepEmpty = true
	c.send(`{"action":"subscribe","topic":"busy","id":0}`)
	c.send(`{"action":"subscribe","topic":"r","id":1}`)
	big := `"` + strings.Repeat("x", 4096) + `"`

	counts := map[string]int{}
	for i := 1; i <= rounds; i++ {
		for j := range burst {
			publish(t, hub, "busy", big) // the writer has these to write
			publish(t, hub, "r", strconv.Itoa(j))
		}
		c.send(fmt.Sprintf(`{"action":"unsubscribe","topic":"r","id":%d}`, 2*i))
		c.send(fmt.Sprintf(`{"action":"subscribe","topic":"r","id":%d}`, 2*i+1))
		for replies := 0; replies < 2; {
			m := c.next()
			require.NotEqual(t, "error", m.Type, "%s: %s", m.Code, m.Message)
			if m.ID != nil && *m.ID >= int64(2*i) {
				replies++
				continue
			}
			if m.Topic == "r" {
				counts[m.Type]++
			}
		}
	}
	// The last subscription's snapshot comes, whenever its writer gets to it.
	for {
		m := c.next()
		if m.Topic != "r" {
			continue
		}
		counts[m.Type]++
		if m.Type == "snapshot" || m.Type == "reset" {
			break
		}
	}
	assert.Zero(t, counts["reset"], "subscriptions that started with a reset (%v)", counts)
	assert.Positive(t, counts["snapshot"])
}
