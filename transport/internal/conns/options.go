package conns

import "time"

// OrDefault returns def for a zero v, and v otherwise: a negative v, which
// turns a bound off, is kept. It applies the defaults of the handlers'
// options whose negative values mean "none".
func OrDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
