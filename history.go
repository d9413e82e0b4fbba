package fanout

import "time"

// history is a topic's bounded ring of recent messages, in sequence order
// without holes, limited by count and by age.
type history struct{ ring[*Message] }

// push appends m, dropping the oldest message when limit are held.
func (h *history) push(m *Message, limit int) {
	if limit <= 0 {
		return
	}
	if h.len() == limit {
		h.popFront()
	}
	h.pushBack(m, limit)
}

// expire drops messages published before cutoff.
func (h *history) expire(cutoff time.Time) {
	for h.len() > 0 && (*h.at(h.head)).Time.Before(cutoff) {
		h.popFront()
	}
	if h.len() == 0 {
		h.reset() // an idle topic keeps no array
	}
}

// oldest returns the sequence number of the oldest message held, or 0.
func (h *history) oldest() uint64 {
	if h.len() == 0 {
		return 0
	}
	return (*h.at(h.head)).Seq
}

// after calls f with every held message whose sequence number is greater
// than seq, oldest first, skipping the oldest ones so that at most n are
// visited. It reports the sequence number of the first message visited.
func (h *history) after(seq uint64, n int, f func(*Message)) (first uint64) {
	if h.len() == 0 || n <= 0 {
		return 0
	}
	start := h.head
	if o := h.oldest(); seq >= o {
		start += seq - o + 1
	}
	if start+uint64(n) < h.tail {
		start = h.tail - uint64(n)
	}
	for i := start; i < h.tail; i++ {
		m := *h.at(i)
		if first == 0 {
			first = m.Seq
		}
		f(m)
	}
	return first
}
