package nats_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// natsCluster is a JetStream cluster of embedded servers on loopback.
type natsCluster struct {
	servers []*natsServer
}

// startCluster starts n clustered JetStream servers, each routing to all
// the others. JetStream clustering needs configured routes, so the cluster
// ports are chosen first: free loopback ports the system hands out.
func startCluster(t *testing.T, n int) *natsCluster {
	t.Helper()
	ports := freePorts(t, n)
	routes := make([]*url.URL, n)
	for i, p := range ports {
		routes[i] = &url.URL{Scheme: "nats-route", Host: net.JoinHostPort("127.0.0.1", fmt.Sprint(p))}
	}
	c := &natsCluster{}
	for i := range n {
		ns := &natsServer{t: t, opts: server.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoLog:      true,
			NoSigs:     true,
			Cluster:    server.ClusterOpts{Name: "fanout", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
		}}
		ns.start()
		t.Cleanup(ns.stop)
		c.servers = append(c.servers, ns)
	}
	return c
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports[i] = l.Addr().(*net.TCPAddr).Port
		defer l.Close()
	}
	return ports
}

// urls lists every server, the i-th first, for a client that should
// prefer server i and fail over to the others.
func (c *natsCluster) urls(i int) string {
	list := []string{c.servers[i].url()}
	for j, ns := range c.servers {
		if j != i {
			list = append(list, ns.url())
		}
	}
	return strings.Join(list, ",")
}

// connect returns a connection pinned to server i first, reconnecting
// forever and never buffering while disconnected.
func (c *natsCluster) connect(t *testing.T, i int) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.urls(i), nats.DontRandomize(), nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1), nats.ReconnectWait(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// newClusterBroker connects a broker through server i; it waits for the
// cluster to elect its JetStream leaders before the stream can be made.
func (c *natsCluster) newClusterBroker(t *testing.T, i int, opts natsbroker.Options) *natsbroker.Broker {
	t.Helper()
	opts.Conn = c.connect(t, i)
	var b *natsbroker.Broker
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var err error
		b, err = natsbroker.New(ctx, opts)
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the cluster elected no JetStream leader")
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// repairingSink is what a hub does with a broker, reduced to one topic: it
// keeps the topic's messages in order, and on a gap or a reconnect it
// fills in from Recover before going on.
type repairingSink struct {
	t      *testing.T
	b      *natsbroker.Broker
	topic  string
	events chan any // fanout.Publication or reconnected{}

	got []*fanout.Message // in order, contiguous from seq 1
}

type reconnected struct{}

func newRepairingSink(t *testing.T, b *natsbroker.Broker, topic string) *repairingSink {
	s := &repairingSink{t: t, b: b, topic: topic, events: make(chan any, 1<<14)}
	b.Bind(s)
	return s
}

func (s *repairingSink) Receive(p fanout.Publication) {
	select {
	case s.events <- p:
	default:
		panic("test sink full")
	}
}

func (s *repairingSink) Reconnected() {
	select {
	case s.events <- reconnected{}:
	default:
		panic("test sink full")
	}
}

func (s *repairingSink) head() uint64 {
	if len(s.got) == 0 {
		return 0
	}
	return s.got[len(s.got)-1].Seq
}

// until consumes events, repairing as needed, until the topic reaches seq
// want; it fails on a duplicate, a reordering or an epoch change.
func (s *repairingSink) until(ctx context.Context, want uint64) error {
	for s.head() < want {
		select {
		case ev := <-s.events:
			p, ok := ev.(fanout.Publication)
			switch {
			case !ok || p.Seq > s.head()+1: // reconnect or gap
				if err := s.repair(ctx); err != nil {
					return err
				}
			case p.Seq <= s.head():
				// Already filled in by a repair: a duplicate delivery
				// must carry the same message.
				if old := s.got[p.Seq-1]; string(old.Data) != string(p.Data) || old.Epoch != p.Epoch {
					return fmt.Errorf("seq %d delivered as %q after %q", p.Seq, p.Data, old.Data)
				}
			default:
				if err := s.add(p.Message); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("reached seq %d of %d: %w", s.head(), want, ctx.Err())
		}
	}
	return nil
}

func (s *repairingSink) add(m *fanout.Message) error {
	if len(s.got) > 0 && m.Epoch != s.got[0].Epoch {
		return fmt.Errorf("epoch changed from %s to %s at seq %d", s.got[0].Epoch, m.Epoch, m.Seq)
	}
	if m.Seq != s.head()+1 {
		return fmt.Errorf("seq %d after %d", m.Seq, s.head())
	}
	s.got = append(s.got, m)
	return nil
}

// repair fetches what the node missed; the broker may be failing over,
// so it tries again until ctx ends.
func (s *repairingSink) repair(ctx context.Context) error {
	for {
		after := fanout.Position{Seq: s.head()}
		if len(s.got) > 0 {
			after.Epoch = s.got[0].Epoch
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		rec, err := s.b.Recover(rctx, s.topic, after, 1<<20)
		cancel()
		if err == nil {
			for _, m := range rec.Messages {
				if err := s.add(m); err != nil {
					return fmt.Errorf("repair: %w", err)
				}
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("repair: %w", err)
		}
	}
}

// TestClusterServerKilled runs a 3-server cluster with an R3 stream and a
// node (broker) on each server. One publisher writes through the nodes in
// turn; midway the server that leads the stream is shut down. Every node
// must end with the same messages, in order, with no gap and no
// duplicate, repairing from Recover what live delivery lost.
func TestClusterServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server cluster")
	}
	c := startCluster(t, 3)
	const topic, total, killAt = "cluster.game", 150, 50
	opts := natsbroker.Options{Replicas: 3, HistorySize: 2 * total}
	brokers := make([]*natsbroker.Broker, 3)
	sinks := make([]*repairingSink, 3)
	for i := range brokers {
		brokers[i] = c.newClusterBroker(t, i, opts)
		sinks[i] = newRepairingSink(t, brokers[i], topic)
		require.NoError(t, brokers[i].Subscribe(ctxT(t), topic))
	}

	leader := streamLeader(t, c)
	var last fanout.Position
	for n := 1; n <= total; n++ {
		if n == killAt {
			c.servers[leader].stop()
		}
		// Publish through a node whose server is alive... or not: a node
		// on the dead server fails over to another server by itself.
		b := brokers[n%3]
		var err error
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			last, err = b.Publish(ctx, topic, fmt.Appendf(nil, `{"n":%d}`, n), nil, false)
			return err == nil
		}, 60*time.Second, 20*time.Millisecond, "publish %d: %v", n, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range sinks {
		wg.Go(func() { assert.NoError(t, s.until(ctx, last.Seq), "node %d", i) })
	}
	wg.Wait()
	for i, s := range sinks[1:] {
		require.Len(t, s.got, len(sinks[0].got))
		for j, m := range s.got {
			require.Equal(t, sinks[0].got[j].Data, m.Data, "node %d seq %d", i+1, m.Seq)
		}
	}
	// Failed publishes that were stored anyway show up as extra
	// messages; none is lost: every n appears, in publish order.
	seen := 0
	for _, m := range sinks[0].got {
		var n int
		_, err := fmt.Sscanf(string(m.Data), `{"n":%d}`, &n)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, seen, "publish order")
		require.LessOrEqual(t, n, seen+1, "no publish lost")
		seen = n
	}
	require.Equal(t, total, seen)
}

// streamLeader returns the index of the server leading the broker's stream.
func streamLeader(t *testing.T, c *natsCluster) int {
	t.Helper()
	nc := c.connect(t, 0)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var name string
	require.Eventually(t, func() bool {
		s, err := js.Stream(ctxT(t), natsbroker.DefaultStream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctxT(t))
		if err != nil || info.Cluster == nil {
			return false
		}
		name = info.Cluster.Leader
		return name != ""
	}, 30*time.Second, 50*time.Millisecond)
	for i, ns := range c.servers {
		if ns.opts.ServerName == name {
			return i
		}
	}
	require.Fail(t, "unknown leader", name)
	return -1
}

// TestClusterHubs puts a hub on each server of a 3-server cluster (R3
// stream) with two clients each, publishes through the hubs in turn and
// shuts the stream leader's server down midway. The hubs' brokers fail
// over to the surviving servers; every client must see one ordered
// stream with no gap and no duplicate, the same on every hub.
func TestClusterHubs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-server cluster")
	}
	c := startCluster(t, 3)
	const topic, total, killAt = "cluster.hubs", 150, 50
	hubs := make([]*fanout.Hub, 3)
	for i := range hubs {
		b := c.newClusterBroker(t, i, natsbroker.Options{Replicas: 3})
		hubs[i] = fanout.NewHub(fanout.Options{Broker: b})
		t.Cleanup(func() { require.NoError(t, hubs[i].Close()) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	type client struct {
		name string
		data []string // payloads in order, index seq-1
	}
	// Clients read until the "end" message that follows the last publish:
	// a failed publish may have been stored anyway, so the count is not
	// known in advance.
	var clients []*client
	var wg sync.WaitGroup
	for i, h := range hubs {
		for j := range 2 {
			cl := &client{name: fmt.Sprintf("hub%d/client%d", i, j)}
			clients = append(clients, cl)
			sub := h.NewSubscriber(fanout.SubscriberOptions{QueueSize: 1024})
			require.NoError(t, sub.Subscribe(ctx, topic))
			first, err := sub.Next(ctx)
			require.NoError(t, err)
			require.Equal(t, fanout.Snapshot, first.Kind, "every subscription starts with a snapshot")
			require.Nil(t, first.Data, "the topic has no state yet")
			wg.Go(func() {
				defer func() { _ = sub.Close() }()
				for {
					d, err := sub.Next(ctx)
					if !assert.NoError(t, err, cl.name) ||
						!assert.Equal(t, fanout.Update, d.Kind, cl.name) || !assert.False(t, d.Gap, cl.name) ||
						!assert.Equal(t, uint64(len(cl.data)+1), d.Seq, cl.name) {
						return
					}
					cl.data = append(cl.data, string(d.Data))
					if string(d.Data) == `"end"` {
						return
					}
				}
			})
		}
	}

	leader := streamLeader(t, c)
	var head fanout.Position
	for n := 1; n <= total+1; n++ {
		if n == killAt {
			c.servers[leader].stop()
		}
		data := fmt.Appendf(nil, `{"n":%d}`, n)
		if n > total {
			data = []byte(`"end"`)
		}
		h := hubs[n%3]
		var err error
		require.Eventually(t, func() bool {
			head, err = h.Publish(topic, data)
			return err == nil
		}, 60*time.Second, 20*time.Millisecond, "publish %d: %v", n, err)
	}
	wg.Wait()
	for _, cl := range clients {
		require.Equal(t, clients[0].data, cl.data, cl.name)
	}
	// A failed publish that was stored anyway shows up twice; none is
	// lost: every n arrives, in publish order.
	got := clients[0].data
	require.LessOrEqual(t, len(got), int(head.Seq))
	seen := 0
	for _, data := range got[:len(got)-1] {
		var n int
		_, err := fmt.Sscanf(data, `{"n":%d}`, &n)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, seen, "publish order")
		require.LessOrEqual(t, n, seen+1, "no publish lost")
		seen = n
	}
	require.Equal(t, total, seen)
}
