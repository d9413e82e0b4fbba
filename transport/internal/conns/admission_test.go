package conns_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

func TestAdmission(t *testing.T) {
	t.Parallel()
	a := conns.NewAdmission(3, 2, nil)
	fromA := httptest.NewRequest("GET", "/", nil)
	fromA.RemoteAddr = "10.0.0.1:1000"
	fromA2 := httptest.NewRequest("GET", "/", nil)
	fromA2.RemoteAddr = "10.0.0.1:2000" // the same client: the port differs
	fromB := httptest.NewRequest("GET", "/", nil)
	fromB.RemoteAddr = "10.0.0.2:1000"

	t1, why := a.Admit(fromA)
	require.Equal(t, conns.Admitted, why)
	t2, why := a.Admit(fromA2)
	require.Equal(t, conns.Admitted, why)
	_, why = a.Admit(fromA)
	assert.Equal(t, conns.PerClient, why, "the client's limit")
	t3, why := a.Admit(fromB)
	require.Equal(t, conns.Admitted, why)
	_, why = a.Admit(fromB)
	assert.Equal(t, conns.Full, why, "the global limit")
	a.Release(t1)
	t4, why := a.Admit(fromA)
	require.Equal(t, conns.Admitted, why, "a released place is free again")
	assert.Equal(t, 3, a.Len())

	require.True(t, a.Close())
	assert.False(t, a.Close())
	a.Release(t2)
	_, why = a.Admit(fromB)
	assert.Equal(t, conns.Closing, why)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, a.Wait(ctx), context.Canceled, "places are still taken")
	done := make(chan error)
	go func() { done <- a.Wait(context.Background()) }()
	a.Release(t3)
	a.Release(t4)
	require.NoError(t, <-done)
	assert.Equal(t, 0, a.Len())
	a.Release(conns.Ticket{}) // a zero ticket is nothing to release
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	a := conns.NewAdmission(10, 1, func(r *http.Request) string { return r.Header.Get("X-User") })
	alice := httptest.NewRequest("GET", "/", nil)
	alice.Header.Set("X-User", "alice")
	bob := httptest.NewRequest("GET", "/", nil) // from the same address
	bob.Header.Set("X-User", "bob")
	_, why := a.Admit(alice)
	require.Equal(t, conns.Admitted, why)
	_, why = a.Admit(bob)
	assert.Equal(t, conns.Admitted, why, "the key, not the address, names the client")
	_, why = a.Admit(alice)
	assert.Equal(t, conns.PerClient, why)
}
