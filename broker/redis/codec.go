package redis

import (
	"errors"
	"strconv"
	"strings"
)

// The Pub/Sub payload of a publication, as the publish script builds it:
//
//	<epoch>:<seq>:<flags>:<len(state)>:<state><data>
//
// Epochs are base64url and never hold ':'.

var errPayload = errors.New("fanout/redis: malformed publication payload")

// payload is a decoded publication, its byte fields sharing one buffer.
type payload struct {
	epoch string
	seq   uint64
	flags int
	state []byte // nil unless flags has flagState
	data  []byte
}

// decodePayload parses s. It allocates one buffer for state and data; the
// epoch is a substring of s.
func decodePayload(s string) (payload, error) {
	var p payload
	var field [4]string
	rest := s
	for i := range field {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return p, errPayload
		}
		field[i], rest = rest[:j], rest[j+1:]
	}
	seq, err := strconv.ParseUint(field[1], 10, 64)
	if err != nil {
		return p, errPayload
	}
	flags, err := strconv.Atoi(field[2])
	if err != nil || flags < 0 || flags > flagState|flagRetain {
		return p, errPayload
	}
	n, err := strconv.Atoi(field[3])
	if err != nil || n < 0 || n > len(rest) {
		return p, errPayload
	}
	buf := []byte(rest)
	p.epoch, p.seq, p.flags = field[0], seq, flags
	if flags&flagState != 0 {
		p.state = buf[:n:n]
	}
	p.data = buf[n:]
	return p, nil
}
