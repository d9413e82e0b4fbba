package fanout

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// OccupancyOptions configures how a hub counts the subscribers of its
// topics across nodes and pushes the counts to them (see Hub.Occupancy and
// TopicConfig.Occupancy). The zero value gives the defaults.
type OccupancyOptions struct {
	// Interval is how long the hub gathers changes of its subscriber
	// counts before it reports them to the other nodes (with a broker that
	// implements OccupancyBroker) and pushes the totals to the topics'
	// subscribers: counts converge within about Interval plus the broker's
	// latency. Zero means DefaultOccupancyInterval.
	Interval time.Duration

	// TTL is how long the other nodes keep this node's counts without
	// hearing from it: a node that dies stops reporting, and its counts
	// expire after TTL. A live node reports at least every TTL/3 even
	// when nothing changed. Every node of a broker should use the same.
	// Zero means DefaultOccupancyTTL.
	TTL time.Duration

	// PushInterval is the least time between two occupancy messages of one
	// topic to its subscribers; the changes in between are coalesced into
	// the next message, which carries the newest count. Zero means
	// DefaultOccupancyPushInterval.
	PushInterval time.Duration
}

// Defaults of OccupancyOptions.
const (
	DefaultOccupancyInterval     = 500 * time.Millisecond
	DefaultOccupancyTTL          = 10 * time.Second
	DefaultOccupancyPushInterval = time.Second
)

func (o OccupancyOptions) withDefaults() OccupancyOptions {
	if o.Interval <= 0 {
		o.Interval = DefaultOccupancyInterval
	}
	if o.TTL <= 0 {
		o.TTL = DefaultOccupancyTTL
	}
	if o.PushInterval <= 0 {
		o.PushInterval = DefaultOccupancyPushInterval
	}
	return o
}

// An OccupancyBroker is a Broker that also carries occupancy reports
// between nodes, so that Hub.Occupancy counts the subscribers of every
// node. Implementing it is optional: with a broker that does not, a hub
// counts its own subscribers only.
//
// A report is opaque bytes that the hub encodes and decodes (its format is
// the hub's, versioned, at most MaxOccupancyReport bytes). The broker
// sends each to every node bound to it, typically on one side channel
// (a Pub/Sub channel, a subject) that it subscribes to when Bind is given
// a Sink that implements OccupancySink, and hands each report it receives
// to that sink's ReceiveOccupancy. Delivery may be at most once and the
// sender may receive its own reports: the hub ignores those, notices
// losses (every node numbers its reports) and asks the others for full
// reports. Reports of one node must arrive in the order it sent them.
type OccupancyBroker interface {
	Broker

	// PublishOccupancy sends report to every node of the broker. It
	// returns once the report is on its way; an error means it was not
	// sent. The hub calls it from one goroutine, about once per
	// OccupancyOptions.Interval while counts change, and never holds a
	// lock while it runs.
	PublishOccupancy(ctx context.Context, report []byte) error
}

// An OccupancySink receives the occupancy reports of the other nodes. The
// Sink a hub binds to its broker implements it; an OccupancyBroker hands
// it every report it receives. ReceiveOccupancy does not block, and the
// hub does not keep report.
type OccupancySink interface {
	ReceiveOccupancy(report []byte)
}

// MaxOccupancyReport bounds the size of one occupancy report, in bytes:
// the hub splits the counts of many topics into several reports.
const MaxOccupancyReport = 32 << 10

// maxOccupancyNodes bounds the other nodes a hub keeps counts of.
const maxOccupancyNodes = 4096

// Occupancy returns the number of subscribers of topic across every node
// that shares the hub's broker: this node's own, counted now, plus the
// other nodes' as they last reported them (see OccupancyOptions). Without
// a broker, or with one that does not implement OccupancyBroker, it is
// LocalOccupancy. It is cheap: no broker call, no lock that publishing
// takes for long.
func (h *Hub) Occupancy(topic string) int {
	return h.LocalOccupancy(topic) + h.occ.remote(topic)
}

// LocalOccupancy returns the number of subscribers of topic on this hub:
// those that have joined (received their snapshot or catch-up) and not
// left.
func (h *Hub) LocalOccupancy(topic string) int {
	sh := h.shardFor(topic)
	sh.mu.RLock()
	t := sh.topics[topic]
	sh.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead {
		return 0
	}
	return len(t.subs)
}

// OccupancyStats are the counters of a hub's occupancy reports.
type OccupancyStats struct {
	Nodes        int    // other nodes whose counts the hub holds
	ReportsSent  uint64 // reports sent to the broker
	ReportsRecv  uint64 // reports received from other nodes
	SendErrors   uint64 // reports the broker failed to send
	Pushes       uint64 // occupancy messages queued for subscribers
	ExpiredNodes uint64 // nodes whose counts expired (they stopped reporting)
}

// OccupancyStats returns the hub's occupancy counters.
func (h *Hub) OccupancyStats() OccupancyStats {
	o := h.occ
	o.mu.Lock()
	n := len(o.nodes)
	o.mu.Unlock()
	return OccupancyStats{
		Nodes:        n,
		ReportsSent:  o.sent.Load(),
		ReportsRecv:  o.recv.Load(),
		SendErrors:   o.errs.Load(),
		Pushes:       o.pushes.Load(),
		ExpiredNodes: o.expired.Load(),
	}
}

// occupancy counts a hub's subscribers per topic, reports the changes to
// the other nodes, keeps theirs and pushes the totals to the subscribers
// of the topics that ask for it. Its goroutine, run, is the hub's.
//
// A topic's count changes when a subscriber is linked or unlinked
// (topic.addLocked, removeAtLocked), which marks the topic dirty, once,
// under its lock: that is the whole cost on the join and leave paths, and
// there is none on the delivery path. Lock order: topic, then o.mu.
type occupancy struct {
	h    *Hub
	opts OccupancyOptions
	b    OccupancyBroker // nil: counts stay local
	self string          // this node's id in reports
	wake chan struct{}   // signals run that there is work (capacity 1)

	mu       sync.Mutex // guards the fields below
	dirty    []*topic   // topics whose local count changed since they were collected
	touched  map[string]struct{}
	nodes    map[string]*remoteNode
	totals   map[string]int // per topic, the sum of the other nodes' counts
	seq      uint64         // the number of this node's last report
	sendFull bool           // send every count in the next report
	askFull  bool           // ask the other nodes for every count
	lastSent time.Time

	sent, recv, errs, pushes, expired atomic.Uint64
}

// remoteNode is what a hub knows of another node's counts.
type remoteNode struct {
	counts  map[string]int
	seq     uint64
	expires time.Time
}

func newOccupancy(h *Hub) *occupancy {
	o := &occupancy{
		h:       h,
		opts:    h.opts.Occupancy.withDefaults(),
		self:    NewEpoch() + NewEpoch(),
		wake:    make(chan struct{}, 1),
		touched: make(map[string]struct{}),
		nodes:   make(map[string]*remoteNode),
		totals:  make(map[string]int),
	}
	if ob, ok := h.opts.Broker.(OccupancyBroker); ok {
		o.b = ob
		// A new node gives its (empty) counts and asks for the others'.
		o.sendFull, o.askFull = true, true
	}
	return o
}

// tracks reports whether the count of t matters: to report it, or to push
// it to t's subscribers.
func (o *occupancy) tracks(t *topic) bool { return o.b != nil || t.cfg.Occupancy }

// changedLocked records that the number of t's subscribers changed; t's
// lock is held.
func (o *occupancy) changedLocked(t *topic) {
	if o == nil || t.occ.dirty || !o.tracks(t) {
		return
	}
	t.occ.dirty = true
	o.mu.Lock()
	o.dirty = append(o.dirty, t)
	o.mu.Unlock()
	o.signal()
}

func (o *occupancy) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// remote returns the other nodes' count of topic.
func (o *occupancy) remote(topic string) int {
	if o.b == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.totals[topic]
}

// run is the occupancy goroutine: every Interval while there is work (and
// always with a broker, for the heartbeat and the expiry of dead nodes)
// it reports, expires and pushes. It says goodbye to the other nodes when
// the hub closes.
func (o *occupancy) run() {
	defer o.h.wg.Done()
	timer := time.NewTimer(o.opts.Interval)
	defer timer.Stop()
	armed := true
	for {
		select {
		case <-o.h.stop:
			o.bye()
			return
		case <-o.wake:
			if !armed {
				timer.Reset(o.opts.Interval)
				armed = true
			}
		case now := <-timer.C:
			armed = o.tick(now)
			if armed {
				timer.Reset(o.opts.Interval)
			}
		}
	}
}

// tick does one round of work and reports whether another is due.
func (o *occupancy) tick(now time.Time) bool {
	changes := o.collect()
	if o.b != nil {
		o.expire(now)
		o.report(now, changes)
	}
	return o.pushDue(now) || o.b != nil
}

// collect takes the dirty topics' counts and returns those that changed
// since the last report.
func (o *occupancy) collect() []topicCount {
	o.mu.Lock()
	dirty := o.dirty
	o.dirty = nil
	o.mu.Unlock()
	var changes []topicCount
	var push []string
	for i, t := range dirty {
		dirty[i] = nil
		t.mu.Lock()
		t.occ.dirty = false
		n := len(t.subs)
		if n != t.occ.reported {
			t.occ.reported = n
			changes = append(changes, topicCount{t.name, n})
		}
		if t.cfg.Occupancy {
			push = append(push, t.name)
		}
		t.mu.Unlock()
	}
	if len(push) > 0 {
		o.mu.Lock()
		for _, name := range push {
			o.touched[name] = struct{}{}
		}
		o.mu.Unlock()
	}
	return changes
}

// expire forgets the nodes that have not reported for their TTL.
func (o *occupancy) expire(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, n := range o.nodes {
		if now.After(n.expires) {
			o.dropLocked(id, n)
			o.expired.Add(1)
		}
	}
}

// dropLocked forgets node id's counts.
func (o *occupancy) dropLocked(id string, n *remoteNode) {
	for topic, c := range n.counts {
		o.addTotalLocked(topic, -c)
	}
	delete(o.nodes, id)
}

func (o *occupancy) addTotalLocked(topic string, delta int) {
	if delta == 0 {
		return
	}
	if v := o.totals[topic] + delta; v > 0 {
		o.totals[topic] = v
	} else {
		delete(o.totals, topic)
	}
	o.touched[topic] = struct{}{}
}

// bye tells the other nodes that this one leaves, so that they forget its
// counts at once rather than after the TTL.
func (o *occupancy) bye() {
	if o.b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(o.timeout(), time.Second))
	defer cancel()
	o.mu.Lock()
	o.seq++
	r := appendReportHeader(nil, reportBye, o.self, o.seq, o.opts.TTL)
	o.mu.Unlock()
	o.send(ctx, r)
}

// send publishes one report, counting the outcome.
func (o *occupancy) send(ctx context.Context, r []byte) bool {
	if err := o.b.PublishOccupancy(ctx, r); err != nil {
		o.errs.Add(1)
		return false
	}
	o.sent.Add(1)
	return true
}

// sink implements OccupancySink: see occupancy.receive.
var _ OccupancySink = sink{}

// ReceiveOccupancy implements OccupancySink.
func (s sink) ReceiveOccupancy(report []byte) { s.h.occ.receive(report, time.Now()) }
