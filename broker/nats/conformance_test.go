package nats_test

import (
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/fanout-go/fanout/brokertest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// conformanceHistory is the history size of the conformance backend:
// small, so that the suite overflows it quickly.
const conformanceHistory = 20

// TestConformance runs the broker conformance suite, each case on its own
// embedded server. Flush deletes the stream (the store is lost); SetDown
// stops the server and starts it again on the same port and store.
func TestConformance(t *testing.T) {
	t.Run("Default", func(t *testing.T) { runConformance(t, natsbroker.Options{}) })
	// With MaxAge, empty topics get life markers (see startLife); an hour
	// expires nothing during the suite.
	t.Run("MaxAge", func(t *testing.T) { runConformance(t, natsbroker.Options{MaxAge: time.Hour}) })
}

func runConformance(t *testing.T, opts natsbroker.Options) {
	opts.HistorySize = conformanceHistory
	brokertest.Run(t, func(t *testing.T) brokertest.Backend {
		ns := startServer(t)
		return brokertest.Backend{
			Connect: func(t *testing.T) fanout.Broker {
				opts := opts
				opts.URL = ns.url()
				b, err := natsbroker.New(ctxT(t), opts)
				require.NoError(t, err)
				return b
			},
			Flush: func(t *testing.T) {
				nc, err := nats.Connect(ns.url())
				require.NoError(t, err)
				defer nc.Close()
				js, err := jetstream.New(nc)
				require.NoError(t, err)
				require.NoError(t, js.DeleteStream(ctxT(t), natsbroker.DefaultStream))
			},
			SetDown: func(t *testing.T, down bool) {
				if down {
					ns.stop()
				} else {
					ns.start()
				}
			},
			HistorySize: conformanceHistory,
		}
	})
}
