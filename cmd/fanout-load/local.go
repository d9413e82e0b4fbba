package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// maxLocal bounds the addresses -local may name: at 28 000 ports each,
// far more connections than one process can open, and small enough that
// a mistyped prefix (a /8 for a /28) is an error rather than millions of
// dialers.
const maxLocal = 4096

// parseLocal parses -local: IP addresses and CIDR ranges, comma-separated,
// a range standing for its host addresses (hostAddrs). Empty gives none.
func parseLocal(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, item := range splitList(s) {
		if !strings.Contains(item, "/") {
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("-local %q: not an IP address or a CIDR range", item)
			}
			out = append(out, a.Unmap())
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("-local %q: not a CIDR range (%v)", item, err)
		}
		hosts, err := hostAddrs(p)
		if err != nil {
			return nil, fmt.Errorf("-local %q: %w", item, err)
		}
		out = append(out, hosts...)
		if len(out) > maxLocal {
			break
		}
	}
	if len(out) > maxLocal {
		return nil, fmt.Errorf("-local: more than %d addresses in all", maxLocal)
	}
	return out, nil
}

// hostAddrs returns the host addresses of p, at most maxLocal: all its
// addresses but, in a range of four or more, an IPv4 network's first
// (the network) and last (broadcast), and an IPv6 network's first (the
// subnet-router anycast address).
func hostAddrs(p netip.Prefix) ([]netip.Addr, error) {
	p = p.Masked()
	bits := p.Addr().BitLen() - p.Bits() // host bits
	if bits > 20 {
		return nil, fmt.Errorf("2^%d addresses, at most %d", bits, maxLocal)
	}
	first, n := p.Addr(), 1<<bits
	if bits >= 2 {
		first, n = first.Next(), n-1
		if first.Is4() {
			n--
		}
	}
	if n > maxLocal {
		return nil, fmt.Errorf("%d host addresses, at most %d", n, maxLocal)
	}
	out := make([]netip.Addr, 0, n)
	for a := first; len(out) < n; a = a.Next() {
		out = append(out, a)
	}
	return out, nil
}

// newDialers returns the dialers of a run: one per local address, or one
// that leaves the choice to the system when there are none.
//
// With one destination (ip, port), Linux picks each connection's
// ephemeral port by probing for a free one in its range (32768–60999 by
// default, 28 000 ports), which gets slow as the range fills and fails
// beyond it. Each local address has a range of its own.
func newDialers(local []netip.Addr) []*net.Dialer {
	base := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if len(local) == 0 {
		return []*net.Dialer{&base}
	}
	ds := make([]*net.Dialer, len(local))
	for i, a := range local {
		d := base
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
		d.Control = bindNoPort
		ds[i] = &d
	}
	return ds
}
