package nats_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// natsServer is an embedded NATS server with JetStream, on a loopback
// port, that a test can stop and start again on the same port and store.
type natsServer struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

// startServer starts a JetStream server on a random loopback port with its
// store in a temporary directory; the test's cleanup shuts it down.
func startServer(t testing.TB) *natsServer {
	t.Helper()
	ns := &natsServer{t: t, opts: server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}}
	ns.start()
	t.Cleanup(ns.stop)
	return ns
}

func (ns *natsServer) start() {
	ns.t.Helper()
	opts := ns.opts
	srv, err := server.NewServer(&opts)
	require.NoError(ns.t, err)
	go srv.Start()
	require.True(ns.t, srv.ReadyForConnections(10*time.Second), "nats server did not start")
	ns.srv = srv
	ns.opts.Port = srv.Addr().(*net.TCPAddr).Port // a restart reuses it
}

// stop shuts the server down and waits; it is idempotent.
func (ns *natsServer) stop() {
	if ns.srv == nil {
		return
	}
	ns.srv.Shutdown()
	ns.srv.WaitForShutdown()
	ns.srv = nil
}

// url is the server's client URL, the same across restarts.
func (ns *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ns.opts.Port) }

// newBroker returns a broker on ns, closed by the test's cleanup.
func newBroker(t testing.TB, url string, opts natsbroker.Options) *natsbroker.Broker {
	t.Helper()
	opts.URL = url
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := natsbroker.New(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// sink records what a broker hands to its node.
type sink struct {
	pubs        chan fanout.Publication
	reconnected chan struct{}
}

func newSink() *sink {
	return &sink{pubs: make(chan fanout.Publication, 1<<16), reconnected: make(chan struct{}, 1)}
}

func (s *sink) Receive(p fanout.Publication) {
	select {
	case s.pubs <- p:
	default:
		panic("test sink full")
	}
}

func (s *sink) Reconnected() {
	select {
	case s.reconnected <- struct{}{}:
	default:
	}
}

// next returns the next publication, failing the test after a while.
func (s *sink) next(t testing.TB) fanout.Publication {
	t.Helper()
	select {
	case p := <-s.pubs:
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("no publication arrived")
		return fanout.Publication{}
	}
}

// waitReconnected waits for the broker to report a reconnect.
func (s *sink) waitReconnected(t testing.TB) {
	t.Helper()
	select {
	case <-s.reconnected:
	case <-time.After(30 * time.Second):
		t.Fatal("Reconnected was not called")
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Polling bounds for require.Eventually, used only where an external
// effect (a connection coming back) has no event to wait for.
const (
	defaultWait = 20 * time.Second
	tick        = 10 * time.Millisecond
)
