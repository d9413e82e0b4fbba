package conns

import "sync"

// Set tracks a handler's open connections (or held requests) so that
// Shutdown and Close reach every one: an item added after Close has begun
// is told so, and its caller ends it. It is safe for concurrent use; the
// zero value is an open, empty set.
type Set[T comparable] struct {
	mu     sync.Mutex // guards the fields below
	items  map[T]struct{}
	closed bool
}

// Add adds t and reports whether the set is still open. Once Close has
// begun it reports false, and the caller ends t itself; t stays in the
// set until Remove all the same, so that a later Close finds it.
func (s *Set[T]) Add(t T) (open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.items == nil {
		s.items = make(map[T]struct{})
	}
	s.items[t] = struct{}{}
	return !s.closed
}

// Remove removes t.
func (s *Set[T]) Remove(t T) {
	s.mu.Lock()
	delete(s.items, t)
	s.mu.Unlock()
}

// Len returns the number of items.
func (s *Set[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// Close closes the set and returns its items; first reports whether this
// call closed it.
func (s *Set[T]) Close() (items []T, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first = !s.closed
	s.closed = true
	return s.itemsLocked(), first
}

// Items returns the items, in no particular order.
func (s *Set[T]) Items() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.itemsLocked()
}

func (s *Set[T]) itemsLocked() []T {
	items := make([]T, 0, len(s.items))
	for t := range s.items {
		items = append(items, t)
	}
	return items
}

// Each calls f for every item, holding the set's lock: f must be quick
// and must not call back into the set.
func (s *Set[T]) Each(f func(T)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.items {
		f(t)
	}
}
