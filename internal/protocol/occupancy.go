package protocol

import (
	"strconv"

	"github.com/fanout-go/fanout"
)

// encodeOccupancy encodes an Occupancy delivery, whose Data is the count
// as a decimal number:
//
//	{"type":"occupancy","topic":"game:123","count":12}
//
// It has no epoch nor seq: it is no part of the topic's sequence.
func encodeOccupancy(d fanout.Delivery) []byte {
	n, err := strconv.ParseUint(string(d.Data), 10, 63)
	if err != nil {
		n = 0 // the hub writes the count; nothing else reaches here
	}
	b := make([]byte, 0, 48+len(d.Topic))
	b = append(b, `{"type":"occupancy","topic":`...)
	b = appendString(b, d.Topic)
	b = append(b, `,"count":`...)
	b = strconv.AppendUint(b, n, 10)
	return append(b, '}')
}
