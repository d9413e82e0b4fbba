package failovertest

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
)

// A Recorder is what one test client saw of the failover topic, checked
// as it comes: resets, gaps and duplicates, and when each connection after
// the first delivered its first message.
type Recorder struct {
	Name string // for the failure messages
	Home int    // the gateway the client starts on

	mu     sync.Mutex // guards the fields below
	n      int        // messages
	last   fanout.Position
	resets int // resets, and snapshots after the first (a resume that failed)
	gaps   int
	dups   int
	conn   int         // the connection of the last message
	at     time.Time   // when the last message arrived
	back   []time.Time // when each later connection delivered its first message
}

// Record checks one message of kind (its wire name: snapshot, update or
// reset; other kinds are ignored) at p, received on connection conn (1
// for the first).
func (r *Recorder) Record(kind string, p fanout.Position, conn int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case kind != "snapshot" && kind != "update" && kind != "reset":
		return
	case r.n == 0 && kind == "snapshot":
	case kind != "update":
		r.resets++
	case p.Epoch == r.last.Epoch && p.Seq == r.last.Seq+1:
	case p.Epoch == r.last.Epoch && p.Seq <= r.last.Seq:
		r.dups++
	default:
		r.gaps++
	}
	if conn > r.conn {
		if r.conn > 0 {
			r.back = append(r.back, time.Now())
		}
		r.conn = conn
	}
	r.n++
	r.last, r.at = p, time.Now()
}

// State returns the messages recorded, the last position, when the last
// message arrived, and when each later connection delivered its first.
func (r *Recorder) State() (n int, last fanout.Position, at time.Time, back []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.last, r.at, slices.Clone(r.back)
}

// RequireClean fails t unless the client saw no reset, gap or duplicate.
func (r *Recorder) RequireClean(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Zero(t, r.resets, "%s was reset", r.Name)
	require.Zero(t, r.gaps, "%s missed messages", r.Name)
	require.Zero(t, r.dups, "%s got messages twice", r.Name)
}

// RunWS follows topic with the Go WebSocket client (a queue of queueSize),
// which reconnects and resumes through hc, recording into r until ctx
// ends.
func RunWS(ctx context.Context, t *testing.T, hc *http.Client, topic string, queueSize int, r *Recorder) {
	var conns atomic.Int32
	cl, err := client.Dial(ctx, "ws://gateway/ws", client.Options{
		HTTPClient: hc, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, QueueSize: queueSize,
		OnState: func(s client.State, _ error) {
			if s == client.Connected {
				conns.Add(1)
			}
		},
	})
	if err != nil {
		t.Errorf("%s: dial: %v", r.Name, err)
		return
	}
	defer cl.Close()
	if err := cl.Subscribe(topic); err != nil {
		t.Errorf("%s: subscribe: %v", r.Name, err)
		return
	}
	for {
		m, err := cl.Next(ctx)
		if err != nil {
			return // ctx ended
		}
		r.Record(m.Kind.String(), m.Position(), int(conns.Load()))
	}
}
