package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readFrame reads one frame into buf without allocating.
func readFrame(t testing.TB, c *websocket.Conn, buf []byte) int {
	_, r, err := c.Reader(context.Background())
	require.NoError(t, err)
	n, err := io.ReadFull(r, buf)
	if err != io.ErrUnexpectedEOF {
		require.NoError(t, err)
	}
	return n
}

// allocsPerPublish measures the allocations of one publish delivered to
// conns connections, each frame read by the test.
func allocsPerPublish(t *testing.T, conns int) float64 {
	s := newServer(t, nil, ws.Options{PingInterval: -1})
	var clients []*websocket.Conn
	for range conns {
		c := s.dial(t)
		c.subscribe("a")
		require.Equal(t, "subscribed", c.next().Type)
		clients = append(clients, c.c)
	}
	buf := make([]byte, 4096)
	return testing.AllocsPerRun(200, func() {
		publish(t, s.hub, "a", `{"price":101.25}`)
		for _, c := range clients {
			readFrame(t, c, buf)
		}
	})
}

// TestDeliveryAllocs checks that a delivery allocates nothing: a publish
// to 20 connections allocates as much as a publish to one (the message and
// its encoding, made once).
func TestDeliveryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates when a goroutine starts")
	}
	one := allocsPerPublish(t, 1)
	many := allocsPerPublish(t, 20)
	t.Logf("allocations per publish: %.2f to 1 connection, %.2f to 20", one, many)
	assert.Less(t, (many-one)/19, 0.1, "allocations per delivery")
}

// BenchmarkDelivery publishes one message at a time to every connection and
// reads it back on each: the cost of a delivery over loopback, unbatched.
func BenchmarkDelivery(b *testing.B) {
	for _, conns := range []int{1, 20} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			s := newServer(b, nil, ws.Options{PingInterval: -1})
			var clients []*websocket.Conn
			for range conns {
				c := s.dial(b)
				c.subscribe("a")
				require.Equal(b, "subscribed", c.next().Type)
				clients = append(clients, c.c)
			}
			buf := make([]byte, 4096)
			data := []byte(`{"price":101.25}`)
			b.ReportAllocs()
			for b.Loop() {
				_, err := s.hub.Publish("a", data)
				require.NoError(b, err)
				for _, c := range clients {
					readFrame(b, c, buf)
				}
			}
			b.ReportMetric(float64(b.N*conns)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkBurst publishes bursts of 100 messages: the writer batches them
// into few frames.
func BenchmarkBurst(b *testing.B) {
	const burst = 100
	s := newServer(b, nil, ws.Options{PingInterval: -1})
	c := s.dial(b)
	c.subscribe("a")
	require.Equal(b, "subscribed", c.next().Type)
	buf := make([]byte, 64<<10)
	data := []byte(`{"price":101.25}`)
	frames := 0
	b.ReportAllocs()
	for b.Loop() {
		for range burst {
			_, err := s.hub.Publish("a", data)
			require.NoError(b, err)
		}
		for got := 0; got < burst; frames++ {
			n := readFrame(b, c.c, buf)
			got += bytes.Count(buf[:n], []byte{'\n'}) + 1
		}
	}
	b.ReportMetric(float64(b.N*burst)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.N*burst)/float64(frames), "msgs/frame")
}
