package metrics

import (
	"expvar"
	"strings"

	"github.com/fanout-go/fanout"
)

// Expvar returns an expvar.Var that reports the metrics of hub and
// handlers as a JSON object, each family by name: a number for a family
// without labels, else an object keyed by its label values joined with
// "/" ("ws", "ws/4000"), and a histogram as its count, its sum in seconds
// and its buckets. Publish it under a name of your choice:
//
//	expvar.Publish("fanout", metrics.Expvar(hub, wsHandler, sseHandler))
func Expvar(hub *fanout.Hub, handlers ...Handler) expvar.Var {
	return expvar.Func(func() any {
		out := map[string]any{}
		for _, f := range Gather(hub, handlers...) {
			if len(f.Labels) == 0 {
				if len(f.Samples) > 0 {
					out[f.Name] = f.Samples[0].Value
				}
				continue
			}
			m := map[string]any{}
			for _, s := range f.Samples {
				key := strings.Join(s.LabelValues, "/")
				if s.Histogram != nil {
					m[key] = map[string]any{
						"count":   s.Histogram.Count,
						"sum":     s.Histogram.Sum.Seconds(),
						"buckets": s.Histogram.Counts,
					}
					continue
				}
				m[key] = s.Value
			}
			out[f.Name] = m
		}
		return out
	})
}
