package fanout

import (
	"sync"
	"time"
)

// TopicConfig is the configuration of one topic, given by
// Options.TopicConfig when the topic is created. The zero value gives the
// defaults.
type TopicConfig struct {
	// HistorySize is how many recent messages the topic keeps for resume
	// and for joiners whose snapshot is older than the head. Zero means
	// DefaultHistorySize; a negative value keeps none.
	HistorySize int

	// HistoryTTL is how long a message stays in history. Zero means
	// DefaultHistoryTTL; a negative value sets no age limit.
	HistoryTTL time.Duration

	// RetainLast makes every message the topic's snapshot, as for a ticker
	// whose every message is the full state of the instrument.
	RetainLast bool

	// Conflate declares that every message is a full state, so a
	// subscriber with OverflowConflate that lags keeps only the newest
	// pending message of the topic (marked with Delivery.Gap) instead of
	// queueing them all.
	Conflate bool

	// Occupancy pushes the topic's subscriber count (Hub.Occupancy) to its
	// subscribers as Occupancy deliveries when it changes, at most once
	// per OccupancyOptions.PushInterval, coalesced: the newest count.
	Occupancy bool
}

// Defaults of TopicConfig.
const (
	DefaultHistorySize = 256
	DefaultHistoryTTL  = 10 * time.Minute
)

func (c TopicConfig) withDefaults() TopicConfig {
	if c.HistorySize == 0 {
		c.HistorySize = DefaultHistorySize
	}
	if c.HistoryTTL == 0 {
		c.HistoryTTL = DefaultHistoryTTL
	}
	return c
}

// topic is the state of one topic. Publishing, joining and leaving take mu,
// which is what makes a snapshot-on-join atomic with the live stream.
type topic struct {
	name  string
	epoch string // guarded by mu when the hub has a broker, which may change it
	cfg   TopicConfig

	mu      sync.Mutex // guards the fields below
	seq     uint64     // the newest sequence number, 0 before the first publish
	hist    history
	snap    *Message // the latest snapshot, nil when none
	subs    []*subscription
	active  time.Time // the last publish or leave
	loaded  bool      // the loader ran successfully
	loading *loadCall // non-nil while the loader runs
	dead    bool      // evicted: look the topic up again
	// unpublished: a join created the topic and it has had no state since
	// (nothing published, nothing loaded, nothing from the broker); it
	// counts against Options.MaxUnpublishedTopics instead of MaxTopics.
	unpublished bool
	link        *brokerLink // the topic's broker state; nil without a broker
	occ         topicOccupancy
}

// expireLocked drops history older than the topic's TTL.
func (t *topic) expireLocked(now time.Time) {
	if t.cfg.HistoryTTL > 0 {
		t.hist.expire(now.Add(-t.cfg.HistoryTTL))
	}
}

// evictableLocked reports whether the topic can be forgotten: nobody
// subscribes and it keeps no state, or it has been idle longer than ttl.
func (t *topic) evictableLocked(now time.Time, ttl time.Duration) bool {
	if len(t.subs) > 0 || t.loading != nil {
		return false
	}
	if t.snap == nil && t.hist.len() == 0 {
		return true
	}
	return ttl >= 0 && now.Sub(t.active) >= ttl
}

// fanoutLocked queues m for every subscriber, removing those that are gone.
// It never blocks: a subscriber whose queue is full is ended (or, if it
// conflates, loses its older pending message of the topic).
func (t *topic) fanoutLocked(m *Message) (delivered, dropped uint64) {
	for i := 0; i < len(t.subs); {
		sn := t.subs[i]
		switch sn.sub.push(sn, m, Update, false) {
		case pushQueued:
			delivered++
		case pushConflated:
			delivered++
			dropped++
		case pushOverflow, pushGone:
			t.removeAtLocked(i)
			continue
		}
		i++
	}
	return delivered, dropped
}

func (t *topic) addLocked(sn *subscription) {
	t.linkedLocked(sn)
	sn.idx = len(t.subs)
	t.subs = append(t.subs, sn)
}

// removeLocked unlinks sn if it is still linked.
func (t *topic) removeLocked(sn *subscription) {
	if sn.idx >= 0 && sn.idx < len(t.subs) && t.subs[sn.idx] == sn {
		t.removeAtLocked(sn.idx)
		t.active = time.Now()
	}
}

func (t *topic) removeAtLocked(i int) {
	t.unlinkedLocked(t.subs[i])
	last := len(t.subs) - 1
	t.subs[i].idx = -1
	if i != last {
		t.subs[i] = t.subs[last]
		t.subs[i].idx = i
	}
	t.subs[last] = nil
	t.subs = t.subs[:last]
	if len(t.subs) == 0 {
		t.subs = nil // release a large array once a crowd has left
	}
}
