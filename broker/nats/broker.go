package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fanout-go/fanout"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Broker is a fanout.Broker backed by NATS JetStream. Create one with New
// and Close it when done. A Broker is safe for concurrent use.
type Broker struct {
	opts   Options
	nc     *natsgo.Conn
	ownNC  bool // the broker dialled nc and closes it
	js     jetstream.JetStream
	status chan natsgo.Status // connection status changes, for Reconnected
	lost   chan struct{}      // a live subscription dropped publications (cap 1)
	prevEH natsgo.ErrHandler  // the connection's error handler before New

	streamMu sync.Mutex // guards stream
	stream   jetstream.Stream

	in    chan *natsgo.Msg // live publications, from every topic subscription
	occIn chan *natsgo.Msg // occupancy reports (see PublishOccupancy)

	mu     sync.RWMutex // guards the fields below
	sink   fanout.Sink
	topics map[string]*natsgo.Subscription // topic -> its live subscription
	subs   map[*natsgo.Subscription]string // live subscription -> topic
	occSub *natsgo.Subscription            // the occupancy subject's, once a sink takes reports
	closed bool

	stop chan struct{} // closed by Close to stop the receiver
	done chan struct{} // closed when Close has finished
	wg   sync.WaitGroup
}

var _ fanout.Broker = (*Broker)(nil)

// ErrClosed is returned by calls on a closed Broker. It wraps
// fanout.ErrClosed.
var ErrClosed = fmt.Errorf("%w: nats broker", fanout.ErrClosed)

// New connects to NATS (or uses opts.Conn), creates or updates the stream
// and starts the broker's receiver goroutine, which hands publications to
// the sink; Close stops it. ctx bounds the set-up.
func New(ctx context.Context, opts Options) (*Broker, error) {
	opts = opts.withDefaults()
	b := &Broker{
		opts:   opts,
		nc:     opts.Conn,
		in:     make(chan *natsgo.Msg, opts.ReceiveBuffer),
		occIn:  make(chan *natsgo.Msg, occupancyBuffer),
		lost:   make(chan struct{}, 1),
		topics: make(map[string]*natsgo.Subscription),
		subs:   make(map[*natsgo.Subscription]string),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if b.nc == nil {
		nc, err := natsgo.Connect(opts.URL, natsgo.MaxReconnects(-1), natsgo.ReconnectBufSize(-1), natsgo.Name("fanout broker"))
		if err != nil {
			return nil, fmt.Errorf("fanout: nats: connect %s: %w", opts.URL, err)
		}
		b.nc, b.ownNC = nc, true
	}
	js, err := jetstream.New(b.nc)
	if err == nil {
		b.js = js
		_, err = b.ensureStream(ctx)
	}
	if err != nil {
		if b.ownNC {
			b.nc.Close()
		}
		return nil, fmt.Errorf("fanout: nats: %w", err)
	}
	b.status = b.nc.StatusChanged(natsgo.CONNECTED)
	b.prevEH = b.nc.ErrorHandler()
	b.nc.SetErrorHandler(b.asyncError)
	b.wg.Add(1)
	go b.receive()
	return b, nil
}

// Bind sets the sink that receives this node's publications. Call it once,
// before Subscribe; the hub does so in NewHub. A sink that implements
// fanout.OccupancySink receives the other nodes' occupancy reports too.
func (b *Broker) Bind(sink fanout.Sink) {
	b.mu.Lock()
	b.sink = sink
	b.subscribeOccupancyLocked(sink)
	b.mu.Unlock()
}

// Health returns nil while the broker's NATS connection is up.
func (b *Broker) Health() error {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if st := b.nc.Status(); st != natsgo.CONNECTED {
		return fmt.Errorf("fanout: nats: connection is %s; it reconnects by itself", st)
	}
	return nil
}

// Close unsubscribes every topic, stops the receiver goroutine and waits
// for it, and closes the NATS connection if the broker dialled it. It is
// idempotent; later calls wait for the first to finish.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.done
		return nil
	}
	b.closed = true
	var errs []error
	for topic, sub := range b.topics {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("unsubscribe %q: %w", topic, err))
		}
	}
	clear(b.topics)
	clear(b.subs)
	if b.occSub != nil {
		if err := b.occSub.Unsubscribe(); err != nil && !errors.Is(err, natsgo.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("unsubscribe occupancy: %w", err))
		}
	}
	b.mu.Unlock()

	b.nc.RemoveStatusListener(b.status)
	if !b.ownNC {
		b.nc.SetErrorHandler(b.prevEH)
	}
	close(b.stop)
	b.wg.Wait()
	if b.ownNC {
		b.nc.Close()
	}
	close(b.done)
	return errors.Join(errs...)
}

// receive hands live publications to the sink, in the order NATS
// delivers them, and tells it when the connection came back.
func (b *Broker) receive() {
	defer b.wg.Done()
	status := b.status
	for {
		select {
		case <-b.stop:
			return
		case m := <-b.in:
			b.deliver(m)
		case m := <-b.occIn:
			b.deliverOccupancy(m)
		case _, ok := <-status:
			if !ok {
				status = nil // removed by Close; stop is closed next
				continue
			}
			b.reconnected()
		case <-b.lost:
			b.reconnected()
		}
	}
}

// reconnected tells the sink that publications may have been missed.
func (b *Broker) reconnected() {
	if sink := b.getSink(); sink != nil {
		sink.Reconnected()
	}
}

// asyncError is the connection's error handler while the broker uses it.
// When NATS drops publications because ReceiveBuffer is full (a slow
// consumer), the sink is told as after a reconnect, so that the hub checks
// every topic rather than wait for the next publication to show the gap.
// Other errors go to the handler the connection had before.
func (b *Broker) asyncError(nc *natsgo.Conn, sub *natsgo.Subscription, err error) {
	if errors.Is(err, natsgo.ErrSlowConsumer) {
		b.mu.RLock()
		_, ours := b.subs[sub]
		b.mu.RUnlock()
		if ours {
			select {
			case b.lost <- struct{}{}:
			default:
			}
			return
		}
	}
	if b.prevEH != nil {
		b.prevEH(nc, sub, err)
	}
}

func (b *Broker) getSink() fanout.Sink {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.sink
}

// deliver hands m to the sink if its topic is still subscribed.
func (b *Broker) deliver(m *natsgo.Msg) {
	b.mu.RLock()
	topic, ok := b.subs[m.Sub]
	sink := b.sink
	b.mu.RUnlock()
	if !ok || sink == nil {
		return
	}
	p, _, err := publication(topic, m.Header, m.Data)
	if err != nil || p.Seq == 0 {
		return // not written by a broker, or a life marker: nothing to deliver
	}
	sink.Receive(p)
}
