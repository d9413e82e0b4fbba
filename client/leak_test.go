package client_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestCloseLeavesNoGoroutine closes clients in each of their states (busy,
// pinging, reconnecting to a server that is gone) and checks that nothing
// of theirs is left running. It is not parallel, so that no other test's
// goroutines come and go meanwhile.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	h := ws.NewHandler(hub, ws.Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	_, err := hub.PublishState("t", []byte(`1`), []byte(`1`))
	require.NoError(t, err)

	busy, err := client.Dial(ctx, url, client.Options{})
	require.NoError(t, err)
	require.NoError(t, busy.Subscribe("t"))
	_, err = busy.Next(ctx)
	require.NoError(t, err)
	for range 100 {
		_, err := hub.Publish("t", []byte(`2`))
		require.NoError(t, err)
	}

	pinging, err := client.Dial(ctx, url, client.Options{IdleTimeout: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, pinging.Subscribe("t"))

	goneHandler := ws.NewHandler(hub, ws.Options{})
	gone := httptest.NewServer(goneHandler)
	disconnected := make(chan struct{}, 16)
	orphan, err := client.Dial(ctx, "ws"+strings.TrimPrefix(gone.URL, "http"), client.Options{
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		OnState: func(s client.State, _ error) {
			if s == client.Disconnected {
				select {
				case disconnected <- struct{}{}:
				default:
				}
			}
		},
	})
	require.NoError(t, err)
	gone.Close() // nothing listens any more
	require.NoError(t, goneHandler.Close())
	for range 2 {
		select {
		case <-disconnected:
		case <-ctx.Done():
			t.Fatal("the orphan did not notice")
		}
	}

	require.NoError(t, busy.Close())
	require.NoError(t, pinging.Close())
	require.NoError(t, orphan.Close())
}
