// Package metrics turns a hub's and its transport handlers' counters
// (fanout.Hub.Stats and friends, transport.Stats) into metric families
// named by Prometheus conventions, with the standard library only: Handler
// serves them in the Prometheus text format, Expvar publishes them with
// package expvar, and the module metrics/prometheus registers them with a
// client_golang registry. docs/operations.md lists them, with the queries
// and alerts worth having.
//
// Nothing is counted here: the hub and the handlers count as they work
// (an atomic add per publish, per frame, per join or leave, nothing per
// delivery), and Gather reads their counters when scraped.
package metrics

import (
	"sort"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// A Handler is a transport handler whose metrics are gathered:
// *ws.Handler, *sse.Handler and *poll.Handler implement it.
type Handler interface {
	Stats() transport.Stats
}

// Type is a metric family's type.
type Type string

// Types of metric families, as the Prometheus text format names them.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Spec describes a metric family: its name, help, type and label names.
type Spec struct {
	Name   string
	Help   string
	Type   Type
	Labels []string
}

// Sample is one value of a family: its label values, in the order of the
// Spec's Labels, and its value, or for a histogram its buckets.
type Sample struct {
	LabelValues []string
	Value       float64
	Histogram   *fanout.HistogramSnapshot
}

// Family is a Spec and its samples.
type Family struct {
	Spec
	Samples []Sample
}

// Specs returns the specs of every family Gather returns, in its order.
func Specs() []Spec { return append([]Spec(nil), specs...) }

var specs = []Spec{
	{"fanout_topics", "Topics held by the hub.", Gauge, nil},
	{"fanout_subscribers", "Subscribers (connections, held polls) on the hub.", Gauge, nil},
	{"fanout_published_total", "Messages published through this node.", Counter, nil},
	{"fanout_delivered_total", "Messages queued for subscribers.", Counter, nil},
	{"fanout_conflated_total", "Queued messages replaced by newer ones of the same topic (conflation).", Counter, nil},
	{"fanout_slow_consumers_total", "Subscribers ended because their queue overflowed.", Counter, nil},
	{"fanout_queued_messages", "Messages queued for subscribers and not yet taken by their transport.", Gauge, nil},
	{"fanout_queued_messages_max", "The most messages queued for one subscriber.", Gauge, nil},
	{"fanout_broker_up", "1 while the broker is reachable (always 1 without a broker), else 0.", Gauge, nil},
	{"fanout_broker_errors_total", "Broker calls that failed: publishes, subscribes, recoveries.", Counter, nil},
	{"fanout_broker_received_total", "Publications received from the broker and delivered.", Counter, nil},
	{"fanout_broker_repairs_total", "Gaps in a topic's stream filled from the broker's history.", Counter, nil},
	{"fanout_broker_resets_total", "Topics whose subscribers were reset: a gap history could not fill, or a new epoch.", Counter, nil},
	{"fanout_broker_reconnects_total", "Times the broker connection was lost and restored.", Counter, nil},
	{"fanout_occupancy_nodes", "Other nodes whose subscriber counts this node holds.", Gauge, nil},
	{"fanout_occupancy_reports_sent_total", "Occupancy reports sent to the other nodes.", Counter, nil},
	{"fanout_occupancy_reports_received_total", "Occupancy reports received from the other nodes.", Counter, nil},
	{"fanout_occupancy_report_errors_total", "Occupancy reports the broker failed to send.", Counter, nil},
	{"fanout_occupancy_expired_nodes_total", "Nodes whose counts expired because they stopped reporting.", Counter, nil},
	{"fanout_occupancy_pushes_total", "Occupancy messages pushed to the subscribers of a topic.", Counter, nil},
	{"fanout_connections", "Open connections (event streams, held polls) per transport.", Gauge, []string{"transport"}},
	{"fanout_subscriptions", "Topics subscribed over the open connections, per transport.", Gauge, []string{"transport"}},
	{"fanout_closes_total", "Connections the server ended, by WebSocket close code or stream end reason.", Counter, []string{"transport", "code"}},
	{"fanout_rejected_total", "Commands and topics refused, by protocol error code.", Counter, []string{"transport", "code"}},
	{"fanout_write_latency_seconds", "Time from an update's publication on the node to its transport taking it from the queue to write it.", Histogram, []string{"transport"}},
}

// Gather reads the counters of hub and its handlers, and returns every
// family of Specs, in that order. Handlers of the same transport add up.
// It costs what Hub.QueueDepth costs: a visit to every subscriber.
func Gather(hub *fanout.Hub, handlers ...Handler) []Family {
	st := hub.Stats()
	occ := hub.OccupancyStats()
	total, most := hub.QueueDepth()
	up := 1.0
	if st.BrokerErr != nil {
		up = 0
	}
	values := []float64{
		float64(st.Topics), float64(st.Subscribers), float64(st.Published), float64(st.Delivered),
		float64(st.Dropped), float64(st.SlowConsumers), float64(total), float64(most),
		up, float64(st.BrokerErrors), float64(st.Received), float64(st.Repairs), float64(st.Resets), float64(st.Reconnects),
		float64(occ.Nodes), float64(occ.ReportsSent), float64(occ.ReportsRecv), float64(occ.SendErrors),
		float64(occ.ExpiredNodes), float64(occ.Pushes),
	}
	fams := make([]Family, len(specs))
	for i, s := range specs {
		fams[i].Spec = s
		if i < len(values) {
			fams[i].Samples = []Sample{{Value: values[i]}}
		}
	}
	gatherHandlers(fams[len(values):], handlers)
	return fams
}

// gatherHandlers fills the per-transport families: connections,
// subscriptions, closes, rejected, write latency.
func gatherHandlers(fams []Family, handlers []Handler) {
	byTransport := map[string]*transport.Stats{}
	var names []string
	for _, h := range handlers {
		st := h.Stats()
		sum := byTransport[st.Transport]
		if sum == nil {
			byTransport[st.Transport] = &st
			names = append(names, st.Transport)
			continue
		}
		sum.Connections += st.Connections
		sum.Subscriptions += st.Subscriptions
		sum.Closes = addCounts(sum.Closes, st.Closes)
		sum.Rejected = addCounts(sum.Rejected, st.Rejected)
		for i := range st.WriteLatency.Counts {
			sum.WriteLatency.Counts[i] += st.WriteLatency.Counts[i]
		}
		sum.WriteLatency.Count += st.WriteLatency.Count
		sum.WriteLatency.Sum += st.WriteLatency.Sum
	}
	sort.Strings(names)
	for _, name := range names {
		st := byTransport[name]
		fams[0].Samples = append(fams[0].Samples, Sample{LabelValues: []string{name}, Value: float64(st.Connections)})
		fams[1].Samples = append(fams[1].Samples, Sample{LabelValues: []string{name}, Value: float64(st.Subscriptions)})
		fams[2].Samples = append(fams[2].Samples, codeSamples(name, st.Closes)...)
		fams[3].Samples = append(fams[3].Samples, codeSamples(name, st.Rejected)...)
		lat := st.WriteLatency
		fams[4].Samples = append(fams[4].Samples, Sample{LabelValues: []string{name}, Histogram: &lat})
	}
}

func addCounts(dst, src map[string]uint64) map[string]uint64 {
	if dst == nil {
		dst = map[string]uint64{}
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

func codeSamples(transport string, counts map[string]uint64) []Sample {
	codes := make([]string, 0, len(counts))
	for code := range counts {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	out := make([]Sample, len(codes))
	for i, code := range codes {
		out[i] = Sample{LabelValues: []string{transport, code}, Value: float64(counts[code])}
	}
	return out
}
