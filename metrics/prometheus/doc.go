// Package prometheus registers a fanout hub's and its transport handlers'
// metrics with a Prometheus client_golang registry:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(fanoutprom.NewCollector(hub, wsHandler, sseHandler, pollHandler))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The families are those of package metrics (github.com/fanout-go/fanout/metrics),
// which serves the same without client_golang; docs/operations.md lists
// them, with the dashboards' queries and the alerts worth having. The
// collector reads the hub's and handlers' counters at each scrape: it adds
// nothing to publishing or delivering.
//
// This is its own module so that the core does not depend on
// client_golang.
package prometheus
