package sse

import (
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/fanout-go/fanout"
)

// The cursor is the SSE event id: it names the position of every topic of
// a stream, so that a reconnect resumes all of them on any node, with no
// state kept on the server. Version 1 (docs/protocol.md):
//
//	cursor = "1." check *( "~" tag "." epoch "." seq )
//
// check is the CRC-32 (IEEE) of everything after it, as 6 characters of
// the base64url alphabet (most significant first); tag names the topic
// with 24 bits of its FNV-1a hash, as 4 base64url characters; epoch is 1 to
// 32 base64url characters; seq is base 36 in lower case, without leading
// zeros. A topic is named by a hash rather than by its place in the query,
// so that a cursor survives a reordered or extended topic list.
const (
	tagLen      = 4
	checkLen    = 6
	maxEpochLen = 32
	maxSeqLen   = 13 // base 36 digits of the largest uint64
	// maxEntryLen bounds one encoded topic position.
	maxEntryLen = 1 + tagLen + 1 + maxEpochLen + 1 + maxSeqLen
	// cursorPrefix is the version and its separator.
	cursorPrefix = "1."
)

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// b64val maps a byte to its base64url value, or -1.
var b64val = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(b64); i++ {
		t[b64[i]] = int8(i)
	}
	return t
}()

// maxCursorLen is the longest cursor a stream of n topics produces; longer
// ones are refused unread.
func maxCursorLen(n int) int { return len(cursorPrefix) + checkLen + n*maxEntryLen }

// EncodeCursor returns the cursor that names pos[i] as the position of
// topics[i], the form the SSE handler sends as event id and accepts as
// Last-Event-ID or as the cursor query parameter. Positions with an empty
// epoch, or an epoch that is not 1 to 32 base64url characters, are left
// out (their topics join afresh). It panics if the slices differ in length.
func EncodeCursor(topics []string, pos []fanout.Position) string {
	if len(topics) != len(pos) {
		panic("sse: EncodeCursor: topics and positions differ in length")
	}
	c := newCursor(topics)
	for i, p := range pos {
		c.set(i, p)
	}
	return string(c.appendTo(nil))
}

// DecodeCursor returns the positions a cursor names for topics, in the
// order of topics; a topic the cursor does not vouch for has the zero
// Position. A cursor that is malformed, too long for len(topics) topics or
// fails its checksum vouches for none. A topic whose tag is shared by
// another topic of the list, or by two entries, is not vouched for either.
func DecodeCursor(s string, topics []string) []fanout.Position {
	c := newCursor(topics)
	c.decode(s)
	return c.pos
}

// cursor holds a stream's topics and their positions. It is not safe for
// concurrent use: a stream's writer owns it.
type cursor struct {
	topics []string
	tags   [][tagLen]byte
	pos    []fanout.Position
	ok     []bool // pos[i] is encodable
	last   int    // the index found by the last index call
}

func newCursor(topics []string) cursor {
	c := cursor{
		topics: topics,
		tags:   make([][tagLen]byte, len(topics)),
		pos:    make([]fanout.Position, len(topics)),
		ok:     make([]bool, len(topics)),
	}
	for i, t := range topics {
		c.tags[i] = topicTag(t)
	}
	return c
}

// topicTag returns the tag of a topic name: 24 bits of its 32-bit FNV-1a
// hash as 4 base64url characters.
func topicTag(name string) (tag [tagLen]byte) {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	h ^= h >> 24 // fold the high byte in
	for i := tagLen - 1; i >= 0; i-- {
		tag[i] = b64[h&63]
		h >>= 6
	}
	return tag
}

// index returns the index of topic, or -1.
func (c *cursor) index(topic string) int {
	if c.last < len(c.topics) && c.topics[c.last] == topic {
		return c.last
	}
	for i, t := range c.topics {
		if t == topic {
			c.last = i
			return i
		}
	}
	return -1
}

// set records p as the position of topic i.
func (c *cursor) set(i int, p fanout.Position) {
	if c.pos[i].Epoch != p.Epoch {
		c.ok[i] = validEpoch(p.Epoch)
	}
	c.pos[i] = p
}

func validEpoch(e string) bool {
	if e == "" || len(e) > maxEpochLen {
		return false
	}
	for i := 0; i < len(e); i++ {
		if b64val[e[i]] < 0 {
			return false
		}
	}
	return true
}

// appendTo appends the cursor to b. It allocates nothing when b has room.
func (c *cursor) appendTo(b []byte) []byte {
	b = append(b, cursorPrefix...)
	at := len(b)
	b = append(b, "AAAAAA"...)
	for i := range c.pos {
		if !c.ok[i] {
			continue
		}
		b = append(b, '~')
		b = append(b, c.tags[i][:]...)
		b = append(b, '.')
		b = append(b, c.pos[i].Epoch...)
		b = append(b, '.')
		b = strconv.AppendUint(b, c.pos[i].Seq, 36)
	}
	sum := crc32.ChecksumIEEE(b[at+checkLen:])
	for i := checkLen - 1; i >= 0; i-- {
		b[at+i] = b64[sum&63]
		sum >>= 6
	}
	return b
}

// entry is one decoded topic position.
type entry struct {
	tag [tagLen]byte
	pos fanout.Position
}

// decode sets the positions s vouches for and returns how many it set.
// It never fails: what it cannot vouch for it leaves unset.
func (c *cursor) decode(s string) int {
	entries, ok := parseCursor(s, maxCursorLen(len(c.topics)))
	if !ok {
		return 0
	}
	n := 0
	for i := range c.topics {
		if c.sharedTag(i) {
			continue
		}
		found := -1
		for j := range entries {
			if entries[j].tag == c.tags[i] {
				if found >= 0 {
					found = -2 // two entries claim the topic
					break
				}
				found = j
			}
		}
		if found >= 0 {
			c.set(i, entries[found].pos)
			n++
		}
	}
	return n
}

// sharedTag reports whether topic i shares its tag with another topic.
func (c *cursor) sharedTag(i int) bool {
	for j := range c.tags {
		if j != i && c.tags[j] == c.tags[i] {
			return true
		}
	}
	return false
}

// parseCursor checks the form and checksum of s and returns its entries.
func parseCursor(s string, maxLen int) ([]entry, bool) {
	if len(s) > maxLen || len(s) < len(cursorPrefix)+checkLen || s[:len(cursorPrefix)] != cursorPrefix {
		return nil, false
	}
	var check uint64
	for i := len(cursorPrefix); i < len(cursorPrefix)+checkLen; i++ {
		v := b64val[s[i]]
		if v < 0 {
			return nil, false
		}
		check = check<<6 | uint64(v)
	}
	body := s[len(cursorPrefix)+checkLen:]
	if check > 0xFFFFFFFF || crc32.ChecksumIEEE([]byte(body)) != uint32(check) {
		return nil, false
	}
	entries := make([]entry, 0, len(body)/(1+tagLen+1+1+1+1))
	for body != "" {
		if body[0] != '~' {
			return nil, false
		}
		end := 1
		for end < len(body) && body[end] != '~' {
			end++
		}
		e, ok := parseEntry(body[1:end])
		if !ok {
			return nil, false
		}
		entries = append(entries, e)
		body = body[end:]
	}
	return entries, true
}

// parseEntry parses tag "." epoch "." seq.
func parseEntry(s string) (entry, bool) {
	var e entry
	if len(s) < tagLen+1 || s[tagLen] != '.' {
		return e, false
	}
	for i := 0; i < tagLen; i++ {
		if b64val[s[i]] < 0 {
			return e, false
		}
		e.tag[i] = s[i]
	}
	rest := s[tagLen+1:]
	dot := -1
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 || !validEpoch(rest[:dot]) {
		return e, false
	}
	digits := rest[dot+1:]
	seq, err := strconv.ParseUint(digits, 36, 64)
	if err != nil || len(digits) > maxSeqLen || (len(digits) > 1 && digits[0] == '0') || !lowerBase36(digits) {
		return e, false
	}
	e.pos = fanout.Position{Epoch: strings.Clone(rest[:dot]), Seq: seq}
	return e, true
}

func lowerBase36(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
