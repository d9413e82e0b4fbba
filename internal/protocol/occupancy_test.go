package protocol

import (
	"encoding/json"
	"testing"

	"github.com/fanout-go/fanout"
)

func TestEncodeOccupancy(t *testing.T) {
	for _, tc := range []struct {
		data string
		want string
	}{
		{"12", `{"type":"occupancy","topic":"game:1","count":12}`},
		{"0", `{"type":"occupancy","topic":"game:1","count":0}`},
		{"x", `{"type":"occupancy","topic":"game:1","count":0}`},
	} {
		d := fanout.Delivery{Message: &fanout.Message{Topic: "game:1", Data: []byte(tc.data)}, Kind: fanout.Occupancy}
		got := Encode(d)
		if string(got) != tc.want {
			t.Errorf("Encode(occupancy %q) = %s, want %s", tc.data, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("Encode(occupancy %q) is not JSON: %s", tc.data, got)
		}
	}
}
