package fanout_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
)

// BenchmarkObserveWrite is what the write-latency histogram costs a
// transport per frame, reported per delivery: a subtraction and a bucket
// per update, an atomic add per bucket touched per frame, no allocation.
// The baseline reads each delivery's time and nothing more, the least any
// per-message latency could cost.
func BenchmarkObserveWrite(b *testing.B) {
	for _, frame := range []int{1, 16, 256} {
		b.Run("impl=baseline/frame="+strconv.Itoa(frame), func(b *testing.B) {
			now, ds := frameOfUpdates(frame)
			var sum time.Duration
			for b.Loop() {
				for i := range ds {
					sum += now.Sub(ds[i].Time)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frame), "ns/delivery")
			if sum < 0 {
				b.Fatal(sum)
			}
		})
		b.Run("impl=meter/frame="+strconv.Itoa(frame), func(b *testing.B) {
			now, ds := frameOfUpdates(frame)
			var m fanout.Meter
			b.ReportAllocs()
			for b.Loop() {
				m.ObserveWrite(ds, now)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frame), "ns/delivery")
		})
	}
}

// frameOfUpdates returns now and n updates published before it, 37 µs
// apart.
func frameOfUpdates(n int) (time.Time, []fanout.Delivery) {
	now := time.Now()
	ds := make([]fanout.Delivery, n)
	for i := range ds {
		ds[i] = fanout.Delivery{Message: &fanout.Message{Time: now.Add(-time.Duration(i) * 37 * time.Microsecond)}}
	}
	return now, ds
}
