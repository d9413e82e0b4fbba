package fanout_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout"
)

func TestEncodingCachesPerFormat(t *testing.T) {
	calls := map[string]int{}
	enc := func(name string) *fanout.Encoding {
		return fanout.NewEncoding(func(d fanout.Delivery) []byte {
			calls[name]++
			return []byte(name + ":" + d.Kind.String())
		})
	}
	a, b := enc("a"), enc("b")
	m := &fanout.Message{Topic: "t", Epoch: "e", Seq: 1}
	up, snap := fanout.Delivery{Message: m}, fanout.Delivery{Message: m, Kind: fanout.Snapshot}
	for range 3 {
		assert.Equal(t, "a:update", string(a.Encode(up)))
		assert.Equal(t, "b:update", string(b.Encode(up)), "another format never gets the cached bytes")
		assert.Equal(t, "b:snapshot", string(b.Encode(snap)))
		assert.Equal(t, "a:snapshot", string(a.Encode(snap)))
	}
	// Each form is cached for the format that encoded it first: a's
	// update and b's snapshot once; the others are computed every time.
	assert.Equal(t, 1+3, calls["a"])
	assert.Equal(t, 3+1, calls["b"])
}
