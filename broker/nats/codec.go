package nats

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-go/fanout"
	natsgo "github.com/nats-io/nats.go"
)

// Headers the broker writes on every stored message. History messages
// (<prefix>.t.<topic>) carry all of them; snapshot messages
// (<prefix>.s.<topic>) carry epoch, seq and time.
const (
	hdrEpoch    = "Fanout-Epoch"     // the topic's epoch
	hdrSeq      = "Fanout-Seq"       // the topic's sequence number; 0 on a life marker (see startLife)
	hdrPrev     = "Fanout-Prev"      // stream sequence of the topic's previous message, 0 for none
	hdrID       = "Fanout-Id"        // unique per Publish call, to settle an ambiguous timeout
	hdrTime     = "Fanout-Time"      // publish time, Unix nanoseconds
	hdrStateLen = "Fanout-State-Len" // the payload is data followed by this many bytes of state
	hdrRetain   = "Fanout-Retain"    // "1": the message itself became the snapshot

	hdrRollup = "Nats-Rollup"
)

// subjects are the three subjects of one topic.
type subjects struct {
	hist, snap, live string
}

// subjectsFor returns topic's subjects. A topic token is the topic name with
// every '.' replaced by '%', a byte that valid topic names never hold, so
// the mapping is one to one and the name stays one subject token.
func (b *Broker) subjectsFor(topic string) (subjects, error) {
	if err := fanout.ValidTopic(topic, len(topic)); err != nil {
		return subjects{}, err
	}
	tok := strings.ReplaceAll(topic, ".", "%")
	p := b.opts.Prefix
	return subjects{hist: p + ".t." + tok, snap: p + ".s." + tok, live: p + ".d." + tok}, nil
}

// meta is what the broker's headers say about a stored message.
type meta struct {
	epoch    string
	seq      uint64
	prev     uint64
	id       string
	time     time.Time
	stateLen int
	retain   bool
}

var errBadHeaders = errors.New("fanout: nats: a message in the stream lacks the broker's headers; is another program writing to the broker's subjects?")

func parseMeta(h natsgo.Header, dataLen int) (meta, error) {
	var m meta
	m.epoch = h.Get(hdrEpoch)
	seq, err := strconv.ParseUint(h.Get(hdrSeq), 10, 64)
	if err != nil || m.epoch == "" {
		return meta{}, errBadHeaders
	}
	m.seq = seq
	if v := h.Get(hdrPrev); v != "" {
		if m.prev, err = strconv.ParseUint(v, 10, 64); err != nil {
			return meta{}, errBadHeaders
		}
	}
	if v := h.Get(hdrTime); v != "" {
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return meta{}, errBadHeaders
		}
		m.time = time.Unix(0, ns)
	}
	if v := h.Get(hdrStateLen); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > dataLen {
			return meta{}, errBadHeaders
		}
		m.stateLen = n
	}
	m.id = h.Get(hdrID)
	m.retain = h.Get(hdrRetain) == "1"
	return m, nil
}

// publication decodes a stored or republished history message of topic.
// When the message carries state, the payload is data followed by state.
func publication(topic string, h natsgo.Header, payload []byte) (fanout.Publication, meta, error) {
	m, err := parseMeta(h, len(payload))
	if err != nil {
		return fanout.Publication{}, meta{}, err
	}
	var state []byte
	data := payload
	if h.Get(hdrStateLen) != "" {
		cut := len(payload) - m.stateLen
		data, state = payload[:cut:cut], payload[cut:]
	}
	msg := &fanout.Message{Topic: topic, Epoch: m.epoch, Seq: m.seq, Time: m.time, Data: data}
	return fanout.Publication{Message: msg, State: state, RetainLast: m.retain}, m, nil
}

// historyMsg builds the history message for one publish.
func historyMsg(subj string, pos fanout.Position, prev uint64, id string, now time.Time, data, state []byte, retainLast bool) *natsgo.Msg {
	h := natsgo.Header{}
	h.Set(hdrEpoch, pos.Epoch)
	h.Set(hdrSeq, strconv.FormatUint(pos.Seq, 10))
	h.Set(hdrPrev, strconv.FormatUint(prev, 10))
	h.Set(hdrID, id)
	h.Set(hdrTime, strconv.FormatInt(now.UnixNano(), 10))
	payload := data
	if state != nil {
		h.Set(hdrStateLen, strconv.Itoa(len(state)))
		payload = make([]byte, 0, len(data)+len(state))
		payload = append(append(payload, data...), state...)
	}
	if retainLast {
		h.Set(hdrRetain, "1")
	}
	return &natsgo.Msg{Subject: subj, Header: h, Data: payload}
}

// snapshotMsg builds the message that replaces a topic's snapshot.
func snapshotMsg(subj string, pos fanout.Position, now time.Time, state []byte) *natsgo.Msg {
	h := natsgo.Header{}
	h.Set(hdrEpoch, pos.Epoch)
	h.Set(hdrSeq, strconv.FormatUint(pos.Seq, 10))
	h.Set(hdrTime, strconv.FormatInt(now.UnixNano(), 10))
	h.Set(hdrRollup, "sub")
	return &natsgo.Msg{Subject: subj, Header: h, Data: state}
}
