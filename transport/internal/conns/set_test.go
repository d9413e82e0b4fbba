package conns_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

func TestSet(t *testing.T) {
	t.Parallel()
	var s conns.Set[int]
	assert.True(t, s.Add(1))
	assert.True(t, s.Add(2))
	assert.Equal(t, 2, s.Len())
	s.Remove(1)
	assert.Equal(t, []int{2}, s.Items())
	items, first := s.Close()
	assert.Equal(t, []int{2}, items)
	assert.True(t, first)
	assert.False(t, s.Add(3), "closed: the caller ends it")
	items, first = s.Close()
	assert.False(t, first)
	slices.Sort(items)
	assert.Equal(t, []int{2, 3}, items, "an item added late is still found")
	n := 0
	s.Each(func(int) { n++ })
	assert.Equal(t, 2, n)
}
