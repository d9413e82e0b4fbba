package client_test

import (
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encoded returns the lines protocol.Encode writes for a few messages,
// the layout the fast decoder is made for.
func encoded() [][]byte {
	var lines [][]byte
	for _, d := range []fanout.Delivery{
		{Message: &fanout.Message{Topic: "game:1", Epoch: "k3Xq9a_Z", Seq: 1, Data: []byte(`{"score":"1-1"}`)}, Kind: fanout.Snapshot},
		{Message: &fanout.Message{Topic: "a/b@c~d", Epoch: "Zt9a_-00", Seq: 1<<53 - 1, Data: []byte(`[1,"x\n\"y"]`)}, Kind: fanout.Update, Gap: true},
		{Message: &fanout.Message{Topic: "t", Epoch: "e", Seq: 7}, Kind: fanout.Reset},
		{Message: &fanout.Message{Topic: "t", Epoch: "e", Seq: 8, Data: []byte(`not json`)}, Kind: fanout.Update},
		{Message: &fanout.Message{Topic: "t", Epoch: "e", Seq: 9, Data: []byte(` 42 `)}, Kind: fanout.Update},
	} {
		lines = append(lines, protocol.Encode(d))
	}
	return lines
}

func TestFastDecoderTakesTheServersLayout(t *testing.T) {
	t.Parallel()
	for _, line := range encoded() {
		fast, slow, ok, err := client.DecodeBoth(line)
		require.NoError(t, err)
		require.True(t, ok, "%s", line)
		assert.Equal(t, slow, fast, "%s", line)
	}
}

func TestFastDecoderFallsBack(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		`{"topic":"t","type":"update","epoch":"e","seq":1,"data":1}`,       // another order
		`{"type":"update","topic":"t\u0031","epoch":"e","seq":1,"data":1}`, // an escape
		`{"type":"update","topic":"t","epoch":"e","seq":01,"data":1}`,      // a leading zero
		`{"type":"update","topic":"t","epoch":"e","seq":1,"data":{]}`,      // bad data
		`{"type":"update","topic":"t","epoch":"e","seq":1,"data":1,"x":2}`,
		`{"type":"subscribed","topic":"t"}`,
		`{"type":"update","topic":"t","epoch":"e","seq":12345678901234567,"data":1}`,
	} {
		_, _, ok, _ := client.DecodeBoth([]byte(line))
		assert.False(t, ok, "%s", line)
	}
	msgs, _, err := client.ParseFrame([]byte(`{"type":"update","topic":"t\u0031","epoch":"e","seq":1,"data":1}`))
	require.NoError(t, err)
	assert.Equal(t, "t1", msgs[0].Topic, "encoding/json decodes what the fast path declines")
}

// FuzzFastDecoder checks that whatever the fast decoder accepts,
// encoding/json accepts too and reads the same message.
func FuzzFastDecoder(f *testing.F) {
	for _, line := range encoded() {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, slow, ok, err := client.DecodeBoth(line)
		if !ok {
			return
		}
		require.NoError(t, err, "%q", line)
		assert.Equal(t, slow, fast, "%q", line)
	})
}
