package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the summary table.
type row struct{ name, value string }

// summaryRows returns the summary of a run as a table, for the terminal
// and the HTML report alike.
func summaryRows(r *result) []row {
	cfg := r.Config
	secs := max(r.Elapsed.Seconds(), 1e-9)
	lat := r.Latency
	target := fmt.Sprintf("%s (%s)", cfg.URL, strings.Join(cfg.Transports, ", "))
	if n := len(cfg.Local); n > 0 {
		target += fmt.Sprintf(" from %d local addresses", n)
	}
	rows := []row{
		{"target", target},
		{"clients", fmt.Sprintf("%d started, ramp %.1fs, held %s, %d topics (%d per client, %s)",
			r.Started, r.RampTime.Seconds(), cfg.Duration, len(cfg.Topics), cfg.PerClient, cfg.Dist)},
		{"elapsed", r.Elapsed.Round(time.Millisecond).String()},
		{"connections", fmt.Sprintf("peak %d open; %d opened, %d reconnections, %d cut on purpose; %d clients never connected",
			r.PeakOpen, r.Connects, r.Reconnects, r.Cuts, r.Never)},
		{"messages", fmt.Sprintf("%d (%s/s), %.1f MB; %d updates", r.Msgs, rate(float64(r.Msgs)/secs),
			float64(r.Bytes)/1e6, r.Updates)},
	}
	if n := lat.total(); n > 0 {
		rows = append(rows, row{"latency", fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%d samples)",
			ms(lat.quantile(0.5)), ms(lat.quantile(0.9)), ms(lat.quantile(0.99)), ms(lat.quantile(0.999)),
			ms(lat.max()), n)})
	} else {
		rows = append(rows, row{"latency", `not measured: no update carried "ts"`})
	}
	rows = append(rows,
		row{"resumes", fmt.Sprintf("%d topics resumed without loss, %d answered with a reset", r.Resumes, r.ResumeRst)},
		row{"marked", fmt.Sprintf("%d updates marked gap, %d resets; %d occupancy counts", r.MarkedGaps, r.Resets, r.Occupancy)},
	)
	v := "none"
	if n := r.violations(); n > 0 {
		var parts []string
		for k, c := range r.Violations {
			if c > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", Kind(k), c))
			}
		}
		v = fmt.Sprintf("%d: %s", n, strings.Join(parts, ", "))
	}
	rows = append(rows, row{"violations", v})
	if r.CPU > 0 && r.Msgs > 0 {
		rows = append(rows, row{"load CPU", fmt.Sprintf("%.1fs, %.1fµs per message (of this process: a server run in it counts too)",
			r.CPU.Seconds(), float64(r.CPU.Microseconds())/float64(r.Msgs))})
	}
	e := "none"
	if len(r.Errors) > 0 {
		keys := slices.SortedFunc(maps.Keys(r.Errors), func(a, b string) int {
			return cmp.Or(cmp.Compare(r.Errors[b], r.Errors[a]), cmp.Compare(a, b))
		})
		var parts []string
		for _, k := range keys[:min(len(keys), 6)] {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, r.Errors[k]))
		}
		e = strings.Join(parts, "; ")
	}
	return append(rows, row{"errors", e})
}

// writeSummary writes the summary table and the first violations.
func writeSummary(w io.Writer, r *result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "fanout-load summary")
	for _, row := range summaryRows(r) {
		fmt.Fprintf(tw, "  %s\t%s\n", row.name, row.value)
	}
	if len(r.Examples) > 0 {
		fmt.Fprintln(tw, "first violations")
		for _, ex := range r.Examples {
			fmt.Fprintf(tw, "  %.3fs\tclient %d\t%s\t%s\n", ex.At.Seconds(), ex.Client, ex.Kind, ex.Detail)
		}
	}
	return tw.Flush()
}
