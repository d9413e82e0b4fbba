package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBroadcast runs the broadcast of BenchmarkBroadcast on every
// implementation and transport at a small scale: every client gets every
// update in order, through several pacing windows, and everything stops.
func TestBroadcast(t *testing.T) {
	for _, impl := range []string{implFanout, implBaseline} {
		for _, transport := range []string{transportWS, transportSSE} {
			t.Run(impl+"/"+transport, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, impl, transport, 20)
				defer e.close()
				for _, count := range []int{1, 700} { // two runs on one env
					_, lat, err := e.run(count)
					require.NoError(t, err)
					require.EqualValues(t, 20*count, lat.n, "latencies recorded")
					require.Positive(t, lat.quantile(0.5))
				}
				require.Equal(t, 20, e.srv.open())
			})
		}
	}
}

func TestHistQuantile(t *testing.T) {
	var h hist
	for v := int64(1); v <= 1000; v++ {
		h.record(v * 1000) // 1µs .. 1ms
	}
	for _, q := range []float64{0.5, 0.99} {
		want := q * 1e6
		got := float64(h.quantile(q).Nanoseconds())
		require.InEpsilon(t, want, got, 1.0/histSub, "q=%v", q)
	}
	for i := range histBuckets - 1 {
		require.Equal(t, i, histIndex(histLower(i)), "lower bound of bucket %d", i)
		require.Equal(t, i, histIndex(histLower(i+1)-1), "upper bound of bucket %d", i)
	}
}
