package fanout

import "time"

// history is a topic's bounded ring of recent messages, in sequence order
// without holes, limited by count and by age. Like queue it starts small
// and grows up to its limit.
type history struct {
	buf        []*Message // len is a power of two
	head, tail uint64     // absolute indexes: messages live at [head, tail)
}

func (h *history) len() int { return int(h.tail - h.head) }

func (h *history) at(i uint64) *Message { return h.buf[i&uint64(len(h.buf)-1)] }

// push appends m, dropping the oldest message when limit are held.
func (h *history) push(m *Message, limit int) {
	if limit <= 0 {
		return
	}
	if h.len() == limit {
		h.dropOldest()
	}
	if h.len() == len(h.buf) {
		size := max(minQueueBuf, 2*len(h.buf))
		for size/2 >= limit && size > minQueueBuf {
			size /= 2
		}
		buf := make([]*Message, size)
		for i := h.head; i < h.tail; i++ {
			buf[i&uint64(size-1)] = h.at(i)
		}
		h.buf = buf
	}
	h.buf[h.tail&uint64(len(h.buf)-1)] = m
	h.tail++
}

func (h *history) dropOldest() {
	h.buf[h.head&uint64(len(h.buf)-1)] = nil
	h.head++
}

// expire drops messages published before cutoff.
func (h *history) expire(cutoff time.Time) {
	for h.len() > 0 && h.at(h.head).Time.Before(cutoff) {
		h.dropOldest()
	}
	if h.len() == 0 {
		*h = history{} // an idle topic keeps no array
	}
}

// oldest returns the sequence number of the oldest message held, or 0.
func (h *history) oldest() uint64 {
	if h.len() == 0 {
		return 0
	}
	return h.at(h.head).Seq
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
		m := h.at(i)
		if first == 0 {
			first = m.Seq
		}
		f(m)
	}
	return first
}
