package sse_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		topics []string
		pos    []fanout.Position
	}{
		{"one", []string{"game:1"}, []fanout.Position{{Epoch: "k3Xq9a_Z", Seq: 41}}},
		{"none", []string{"a", "b"}, []fanout.Position{{}, {}}},
		{"some", []string{"a", "b", "c"}, []fanout.Position{{Epoch: "k3Xq9a_Z", Seq: 0}, {}, {Epoch: "Zt9a-000", Seq: 7}}},
		{"max seq", []string{"a"}, []fanout.Position{{Epoch: "AAAAAAAA", Seq: math.MaxUint64}}},
		{"long epoch", []string{"a"}, []fanout.Position{{Epoch: strings.Repeat("e", 32), Seq: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sse.EncodeCursor(tc.topics, tc.pos)
			assert.Equal(t, tc.pos, sse.DecodeCursor(s, tc.topics))
			// The order of the topics does not matter, nor do extra ones.
			rev := append([]string{"extra"}, tc.topics...)
			got := sse.DecodeCursor(s, rev)
			assert.Equal(t, fanout.Position{}, got[0])
			assert.Equal(t, tc.pos, got[1:])
		})
	}
}

func TestCursorFormat(t *testing.T) {
	t.Parallel()
	s := sse.EncodeCursor([]string{"game:1", "game:2"}, []fanout.Position{{Epoch: "k3Xq9a_Z", Seq: 41}, {}})
	require.Regexp(t, `^1\.[A-Za-z0-9_-]{6}~[A-Za-z0-9_-]{4}\.k3Xq9a_Z\.15$`, s)
}

func TestCursorLeavesOutUnencodableEpochs(t *testing.T) {
	t.Parallel()
	topics := []string{"a", "b", "c"}
	pos := []fanout.Position{{Epoch: "has.dot", Seq: 1}, {Epoch: strings.Repeat("e", 33), Seq: 2}, {Epoch: "ok", Seq: 3}}
	got := sse.DecodeCursor(sse.EncodeCursor(topics, pos), topics)
	assert.Equal(t, []fanout.Position{{}, {}, {Epoch: "ok", Seq: 3}}, got)
}

func TestCursorRejects(t *testing.T) {
	t.Parallel()
	topics := []string{"a", "b"}
	good := sse.EncodeCursor(topics, []fanout.Position{{Epoch: "AAAA", Seq: 5}, {Epoch: "BBBB", Seq: 6}})
	for _, s := range []string{
		"",
		"1.",
		"2" + good[1:],                  // another version
		good[:len(good)-1],              // truncated: the checksum fails
		good + "0",                      // extended
		strings.ToUpper(good),           // changed case
		good + strings.Repeat("~", 300), // too long for two topics
		"1.AAAAAA~",                     // empty entry
		"1.//////",                      // checksum out of range
	} {
		assert.Equal(t, []fanout.Position{{}, {}}, sse.DecodeCursor(s, topics), "cursor %q", s)
	}
}

// FuzzCursor checks that decoding never fails loudly, returns only valid
// positions for the given topics, and is stable: decoding what it encodes
// gives the same positions back.
func FuzzCursor(f *testing.F) {
	f.Add(sse.EncodeCursor([]string{"a"}, []fanout.Position{{Epoch: "k3Xq9a_Z", Seq: 41}}), "a")
	f.Add("1.AAAAAA", "a,b")
	f.Add("garbage", "")
	f.Fuzz(func(t *testing.T, s, list string) {
		topics := strings.Split(list, ",")
		if len(topics) > 200 {
			return
		}
		pos := sse.DecodeCursor(s, topics)
		require.Len(t, pos, len(topics))
		if len(s) > 16+len(topics)*52 {
			require.Equal(t, make([]fanout.Position, len(topics)), pos, "an oversized cursor vouches for nothing")
		}
		for _, p := range pos {
			if p.Epoch == "" {
				require.Zero(t, p.Seq)
				continue
			}
			require.LessOrEqual(t, len(p.Epoch), 32)
			require.Regexp(t, `^[A-Za-z0-9_-]+$`, p.Epoch)
		}
		again := sse.DecodeCursor(sse.EncodeCursor(topics, pos), topics)
		for i := range pos {
			// Equal, unless the topic's tag is ambiguous (then neither
			// decode vouches for it).
			if pos[i] != (fanout.Position{}) {
				require.Equal(t, pos[i], again[i])
			}
		}
	})
}
