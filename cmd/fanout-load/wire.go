package main

import (
	"encoding/json"
	"errors"
)

// errMalformed is a message that is not one JSON object.
var errMalformed = errors.New("fanout-load: not a JSON object")

// parseMsg decodes one server message into m. Every message of a run goes
// through it, so it reads the envelope itself, several times faster than
// encoding/json: it keeps data as the raw bytes of b (valid while b is)
// and skips unknown fields. A string with an escape, or a seq that is not
// a plain integer, takes encoding/json's path.
func parseMsg(b []byte, m *wireMsg) error {
	*m = wireMsg{}
	p := scanner{b: b}
	if !p.eat('{') {
		return errMalformed
	}
	if p.eat('}') {
		return p.end()
	}
	for {
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return p.slow(m)
		}
		switch string(key) {
		case "type", "topic", "epoch", "code", "reason", "message":
			if p.null() {
				break
			}
			v, ok := p.str()
			if !ok {
				return p.slow(m)
			}
			m.set(string(key), v)
		case "seq":
			n, ok := p.uint()
			if !ok {
				return p.slow(m)
			}
			m.seq = n
			m.Seq = &m.seq
		case "count":
			n, ok := p.uint()
			if !ok || n > 1<<62 {
				return p.slow(m)
			}
			m.count = int64(n)
			m.Count = &m.count
		case "gap":
			switch {
			case p.literal("true"):
				m.Gap = true
			case p.literal("false"), p.null():
			default:
				return p.slow(m)
			}
		case "data":
			start := p.ws()
			if !p.skip() {
				return errMalformed
			}
			m.Data = json.RawMessage(b[start:p.i])
		default:
			if !p.skip() {
				return errMalformed
			}
		}
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end()
		}
		return errMalformed
	}
}

// set sets the string field named key.
func (m *wireMsg) set(key string, v []byte) {
	switch key {
	case "type":
		m.Type = internType(v)
	case "topic":
		m.Topic = string(v)
	case "epoch":
		m.Epoch = string(v)
	case "code":
		m.Code = string(v)
	case "reason":
		m.Reason = string(v)
	case "message":
		m.Message = string(v)
	}
}

// internType returns the protocol's type names without allocating.
func internType(v []byte) string {
	switch string(v) {
	case "update":
		return "update"
	case "snapshot":
		return "snapshot"
	case "reset":
		return "reset"
	case "subscribed":
		return "subscribed"
	case "occupancy":
		return "occupancy"
	}
	return string(v)
}

// scanner reads JSON from b at i.
type scanner struct {
	b []byte
	i int
}

// slow decodes the whole message with encoding/json.
func (p *scanner) slow(m *wireMsg) error {
	*m = wireMsg{}
	return json.Unmarshal(p.b, m)
}

// ws skips white space and returns the position after it.
func (p *scanner) ws() int {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return p.i
		}
	}
	return p.i
}

// eat consumes c after white space, if it is there.
func (p *scanner) eat(c byte) bool {
	if p.ws(); p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *scanner) end() error {
	if p.ws(); p.i != len(p.b) {
		return errMalformed
	}
	return nil
}

// literal consumes the literal s (true, false, null), if it is there.
func (p *scanner) literal(s string) bool {
	p.ws()
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *scanner) null() bool { return p.literal("null") }

// str consumes a string without escapes and returns its contents; a
// string with one is not ok (and left unconsumed).
func (p *scanner) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	for j := p.i; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[p.i:j]
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// uint consumes a plain non-negative integer below 2^64.
func (p *scanner) uint() (uint64, bool) {
	p.ws()
	start := p.i
	var n uint64
	for ; p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9'; p.i++ {
		d := uint64(p.b[p.i] - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	switch {
	case p.i == start, p.i-start > 1 && p.b[start] == '0':
		return 0, false
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		return 0, false
	}
	return n, true
}

// skip consumes one JSON value of any kind: strings and nesting are
// followed exactly, numbers and literals loosely (the server embeds data
// that it checked when it was published).
func (p *scanner) skip() bool {
	depth := 0
	for p.ws(); p.i < len(p.b); {
		c := p.b[p.i]
		switch {
		case c == '"':
			if !p.skipString() {
				return false
			}
		case c == '{' || c == '[':
			depth++
			p.i++
		case c == '}' || c == ']':
			if depth == 0 {
				return false
			}
			depth--
			p.i++
		case c == ',' || c == ':':
			if depth == 0 {
				return false
			}
			p.i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		default: // a number or a literal
			start := p.i
			for p.i < len(p.b) && isScalarByte(p.b[p.i]) {
				p.i++
			}
			if p.i == start {
				return false
			}
		}
		if depth == 0 {
			return true
		}
	}
	return false
}

// skipString consumes a string, escapes included.
func (p *scanner) skipString() bool {
	for j := p.i + 1; j < len(p.b); j++ {
		switch p.b[j] {
		case '\\':
			j++
		case '"':
			p.i = j + 1
			return true
		}
	}
	return false
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}
