package prometheus

import (
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// A Collector is a prometheus.Collector of a hub and its transport
// handlers. It is safe for concurrent use. Create one with NewCollector.
type Collector struct {
	hub      *fanout.Hub
	handlers []metrics.Handler
	descs    []*prometheus.Desc // one per metrics.Specs entry, in order
	types    []metrics.Type
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector of hub and handlers (*ws.Handler,
// *sse.Handler, *poll.Handler; handlers of one transport add up). Register
// it once per hub; for two hubs in one process, wrap one registry with
// prometheus.WrapRegistererWith and a label that tells them apart.
func NewCollector(hub *fanout.Hub, handlers ...metrics.Handler) *Collector {
	c := &Collector{hub: hub, handlers: handlers}
	for _, s := range metrics.Specs() {
		c.descs = append(c.descs, prometheus.NewDesc(s.Name, s.Help, s.Labels, nil))
		c.types = append(c.types, s.Type)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it gathers the counters now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for i, f := range metrics.Gather(c.hub, c.handlers...) {
		for _, s := range f.Samples {
			ch <- c.metric(i, s)
		}
	}
}

func (c *Collector) metric(i int, s metrics.Sample) prometheus.Metric {
	d := c.descs[i]
	switch c.types[i] {
	case metrics.Counter:
		return prometheus.MustNewConstMetric(d, prometheus.CounterValue, s.Value, s.LabelValues...)
	case metrics.Gauge:
		return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, s.Value, s.LabelValues...)
	}
	h := s.Histogram
	buckets := make(map[float64]uint64, fanout.LatencyBuckets-1)
	var cum uint64
	for b, n := range h.Counts {
		cum += n
		if bound := fanout.LatencyBound(b); bound > 0 {
			buckets[bound.Seconds()] = cum
		}
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, s.LabelValues...)
}
