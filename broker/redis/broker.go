package redis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fanout-go/fanout"
	goredis "github.com/redis/go-redis/v9"
)

// A Broker is a fanout.Broker on Redis: give it to the hub of every node
// through the hub's options. It is safe for concurrent use; create one
// with New and Close it after the hub.
type Broker struct {
	opts   Options
	client *goredis.Client
	owned  bool // the Broker made client and closes it

	ttlArg, histArg string // Options.TTL in ms and HistorySize, as script arguments

	sink atomic.Pointer[sinkBox]

	// Publish side: Publish hands requests to the batcher goroutine.
	sendMu  sync.RWMutex // guards closed against sends on reqs
	closed  bool
	direct  atomic.Int32 // publishes running on their callers' goroutines
	reqs    chan *pubReq
	stopPub chan struct{} // closed by Close: the batcher drains and exits

	// Subscribe side: one Pub/Sub connection read by one goroutine.
	psMu    sync.RWMutex // guards ps, which the reader replaces when it stops answering; taken before subMu
	ps      *goredis.PubSub
	stopSub chan struct{} // closed by Close: the reader exits
	subMu   sync.Mutex    // guards subs and pending
	subs    map[string]*subscription
	pending map[string]int // SUBSCRIBE commands sent per channel, not yet confirmed

	health atomic.Pointer[error] // nil while the Pub/Sub connection answers

	occupancy atomic.Bool // the Pub/Sub connection subscribes the occupancy channel

	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

type sinkBox struct{ fanout.Sink }

var _ fanout.Broker = (*Broker)(nil)

// ErrClosed is returned by the methods of a closed Broker.
var ErrClosed = fmt.Errorf("fanout/redis: broker closed: %w", fanout.ErrClosed)

// New returns a Broker on the Redis server that opts name. It does not
// wait for Redis: Health reports whether it answers, and Publish fails
// while it does not. New starts a Pub/Sub reader goroutine and
// Options.Pipelines publish batchers; Close stops them.
func New(opts Options) (*Broker, error) {
	opts = opts.withDefaults()
	if strings.ContainsAny(opts.KeyPrefix, "{}") {
		return nil, fmt.Errorf("fanout/redis: KeyPrefix %q holds '{' or '}': choose one without", opts.KeyPrefix)
	}
	b := &Broker{
		opts:    opts,
		client:  opts.Client,
		histArg: strconv.Itoa(opts.HistorySize),
		ttlArg:  "0",
		reqs:    make(chan *pubReq, opts.MaxPending),
		stopPub: make(chan struct{}),
		stopSub: make(chan struct{}),
		subs:    make(map[string]*subscription),
		pending: make(map[string]int),
	}
	if opts.TTL > 0 {
		b.ttlArg = strconv.FormatInt(max(opts.TTL.Milliseconds(), 1), 10)
	}
	if b.client == nil {
		// No retries: a retried publish could be stored twice; and one
		// dial attempt, so that a publish fails at once while Redis is down.
		b.client = goredis.NewClient(&goredis.Options{Addr: opts.Addr, MaxRetries: -1, DialerRetries: 1})
		b.owned = true
	}
	b.ps = b.client.Subscribe(bg)
	b.wg.Add(1)
	go b.reader()
	if opts.MaxBatch > 1 {
		for range opts.Pipelines {
			b.wg.Add(1)
			go b.batcher()
		}
	}
	return b, nil
}

// Bind sets the sink that receives this node's publications.
// A sink that implements fanout.OccupancySink receives the other nodes'
// occupancy reports too.
func (b *Broker) Bind(sink fanout.Sink) {
	b.sink.Store(&sinkBox{sink})
	b.subscribeOccupancy(sink)
}

func (b *Broker) sinkOrNil() fanout.Sink {
	if s := b.sink.Load(); s != nil {
		return s.Sink
	}
	return nil
}

// Health returns nil while the Broker's Pub/Sub connection to Redis
// answers, else the reason it does not.
func (b *Broker) Health() error {
	if b.isClosed() {
		return ErrClosed
	}
	if p := b.health.Load(); p != nil {
		return *p
	}
	return nil
}

func (b *Broker) setHealth(err error) {
	if err == nil {
		if b.health.Load() != nil {
			b.health.Store(nil)
		}
		return
	}
	err = fmt.Errorf("fanout/redis: Redis at %s unreachable: %w", b.client.Options().Addr, err)
	b.health.Store(&err)
}

func (b *Broker) isClosed() bool {
	b.sendMu.RLock()
	defer b.sendMu.RUnlock()
	return b.closed
}

// Close stops the Broker's goroutines, failing the publishes still
// waiting with ErrClosed, and closes its Pub/Sub connection and, when the
// Broker made it, its client. It is idempotent and waits.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.sendMu.Lock()
		b.closed = true
		b.sendMu.Unlock()
		close(b.stopPub)
		close(b.stopSub)
		var errs []error
		b.psMu.Lock() // the reader replaces ps only before stopSub is closed
		ps := b.ps
		b.psMu.Unlock()
		if err := ps.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close Pub/Sub: %w", err))
		}
		b.wg.Wait()
		if b.owned {
			if err := b.client.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close client: %w", err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			b.closeErr = fmt.Errorf("fanout/redis: close: %w", err)
		}
	})
	return b.closeErr
}
