package brokertest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
	"github.com/fanout-go/fanout/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestMemoryBroker runs the suite against the in-process broker.
func TestMemoryBroker(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) brokertest.Backend {
		mb := memory.New(memory.Options{HistorySize: 32})
		return brokertest.Backend{
			Connect:     func(*testing.T) fanout.Broker { return mb.Connect() },
			Flush:       func(*testing.T) { mb.Flush() },
			SetDown:     func(_ *testing.T, down bool) { mb.SetDown(down) },
			HistorySize: 32,
		}
	})
}
