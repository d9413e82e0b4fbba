package conns

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// Admission counts the connections (or held requests) of a handler
// against a global limit and, when a client key is given, a limit per
// client. It is safe for concurrent use; the zero value admits nothing
// (use NewAdmission).
type Admission struct {
	max       int
	perClient int
	key       func(*http.Request) string

	mu      sync.Mutex // guards the fields below
	n       int
	byKey   map[string]int
	closing bool
	zero    chan struct{} // closed when n drops to zero; nil while none waits
}

// NewAdmission returns an Admission of at most max at once and, when
// perClient > 0, at most perClient per client, the client being named by
// key (RemoteKey when key is nil).
func NewAdmission(max, perClient int, key func(*http.Request) string) *Admission {
	if key == nil {
		key = RemoteKey
	}
	return &Admission{max: max, perClient: perClient, key: key}
}

// Ticket is an admitted request's place; Release gives it back.
type Ticket struct {
	key string
	ok  bool
}

// Refusal says why a request was not admitted.
type Refusal uint8

// Refusals.
const (
	Admitted  Refusal = iota
	Full              // the global limit is reached
	PerClient         // the client's limit is reached
	Closing           // the handler is shutting down
)

// Admit counts r in, unless the handler is closing or a limit is reached.
func (a *Admission) Admit(r *http.Request) (Ticket, Refusal) {
	var key string
	if a.perClient > 0 {
		key = a.key(r)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closing:
		return Ticket{}, Closing
	case a.n >= a.max:
		return Ticket{}, Full
	case a.perClient > 0 && a.byKey[key] >= a.perClient:
		return Ticket{}, PerClient
	}
	a.n++
	if a.perClient > 0 {
		if a.byKey == nil {
			a.byKey = make(map[string]int)
		}
		a.byKey[key]++
	}
	return Ticket{key: key, ok: true}, Admitted
}

// Release gives t's place back. Releasing a zero Ticket does nothing.
func (a *Admission) Release(t Ticket) {
	if !t.ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n--
	if a.n == 0 && a.zero != nil {
		close(a.zero)
		a.zero = nil
	}
	if a.perClient > 0 {
		if a.byKey[t.key] <= 1 {
			delete(a.byKey, t.key) // the map holds only clients with a place
		} else {
			a.byKey[t.key]--
		}
	}
}

// Close refuses every later Admit with Closing. It reports whether this
// call made the switch.
func (a *Admission) Close() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	first := !a.closing
	a.closing = true
	return first
}

// Wait waits until every place is given back, or ctx is done, and
// returns ctx's error then. Admit counts a place in under the same lock
// that Close takes, so once Close has returned, a Wait that sees no place
// taken sees the end of the handler's work.
func (a *Admission) Wait(ctx context.Context) error {
	a.mu.Lock()
	if a.n == 0 {
		a.mu.Unlock()
		return nil
	}
	if a.zero == nil {
		a.zero = make(chan struct{})
	}
	zero := a.zero
	a.mu.Unlock()
	select {
	case <-zero:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Len returns the number of places taken.
func (a *Admission) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// RemoteKey names the client of r by the host of r.RemoteAddr, the
// default client key. Behind a proxy or a load balancer that is the
// proxy, and behind a NAT many clients share it: applications in either
// case supply their own key.
func RemoteKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
