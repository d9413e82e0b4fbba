package redis_test

import (
	"testing"

	"github.com/fanout-go/fanout"
	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/fanout-go/fanout/brokertest"
	"github.com/stretchr/testify/require"
)

// TestConformance runs the broker conformance suite, each case on a
// redis-server of its own.
func TestConformance(t *testing.T) {
	const historySize = 32
	brokertest.Run(t, func(t *testing.T) brokertest.Backend {
		srv := redistest.Start(t)
		return brokertest.Backend{
			Connect: func(t *testing.T) fanout.Broker {
				b, err := redisbroker.New(redisbroker.Options{Addr: srv.Addr, HistorySize: historySize})
				require.NoError(t, err)
				return b
			},
			Flush: func(t *testing.T) {
				_, err := redistest.Do(srv.Addr, "FLUSHALL")
				require.NoError(t, err)
			},
			SetDown: func(t *testing.T, down bool) {
				if down {
					srv.Stop() // keeps the data, as the suite asks
				} else {
					srv.Restart()
				}
			},
			HistorySize: historySize,
		}
	})
}
