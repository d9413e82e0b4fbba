package main

import (
	"bytes"
	_ "embed" // the chart library, inlined into the report
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/components"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// echartsJS is Apache ECharts, which draws the charts go-echarts
// describes. The report carries it inline so that it opens offline; see
// assets/README.md.
//
//go:embed assets/echarts.common.min.js
var echartsJS string

// chartsPlaceholder marks where the chart library goes in the page.
const chartsPlaceholder = "<!-- the chart library -->"

// write writes b to w.
func write(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// maxBars bounds the bars of the latency histogram: neighbouring buckets
// are merged beyond it.
const maxBars = 60

// writeReport writes the HTML report of a run: the summary table, the
// latency histogram, and throughput, connections and latency over time.
func writeReport(w io.Writer, r *result) error {
	page := components.NewPage()
	page.SetPageTitle("fanout-load report")
	page.SetLayout(components.PageFlexLayout)
	page.AddCharts(latencyChart(r.Latency), throughputChart(r.Samples), connectionsChart(r.Samples, r.Started),
		latencyOverTimeChart(r.Samples))
	// No chart library from the network: the one go-echarts would load
	// from its assets host is replaced by the embedded copy.
	// It goes in after the rendering, which would run its templates and
	// regular expressions over the library's 650 KB.
	page.ClearPresetJSAssets()
	page.AddCustomizedHeaders(chartsPlaceholder)
	var buf bytes.Buffer
	if err := page.Render(&buf); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	head, body, found := bytes.Cut(buf.Bytes(), []byte(chartsPlaceholder))
	if !found {
		return errors.New("render report: no place for the chart library")
	}
	body = bytes.Replace(body, []byte("<body>"), []byte("<body>\n"+summaryHTML(r)), 1)
	return errors.Join(write(w, head), write(w, []byte("<script>"+echartsJS+"</script>")), write(w, body))
}

// summaryHTML is the summary table and the first violations, as HTML.
func summaryHTML(r *result) string {
	var b strings.Builder
	b.WriteString(`<style>body{font-family:system-ui,sans-serif;margin:1em 2em}` +
		`table{border-collapse:collapse;margin:0 auto 1em}td,th{text-align:left;padding:.2em .8em;border-bottom:1px solid #ddd;vertical-align:top}` +
		`h1{text-align:center;font-size:1.4em}.bad{color:#b00020;font-weight:bold}</style>`)
	status := "no violation"
	if n := r.violations(); n > 0 {
		status = fmt.Sprintf(`<span class="bad">%d violations</span>`, n)
	}
	fmt.Fprintf(&b, "<h1>fanout-load, %s: %s</h1>\n<table id=\"summary\">\n", r.Start.Format(time.DateTime), status)
	for _, row := range summaryRows(r) {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(row.name), html.EscapeString(row.value))
	}
	b.WriteString("</table>\n")
	if len(r.Examples) > 0 {
		b.WriteString("<table id=\"violations\"><tr><th>at</th><th>client</th><th>kind</th><th>detail</th></tr>\n")
		for _, ex := range r.Examples {
			fmt.Fprintf(&b, "<tr><td>%.3fs</td><td>%d</td><td>%s</td><td>%s</td></tr>\n",
				ex.At.Seconds(), ex.Client, ex.Kind, html.EscapeString(ex.Detail))
		}
		b.WriteString("</table>\n")
	}
	return b.String()
}

// chartInit sizes every chart the same. The id names a JavaScript
// variable too: letters and digits only.
func chartInit(id string) charts.GlobalOpts {
	return charts.WithInitializationOpts(opts.Initialization{Width: "640px", Height: "360px", ChartID: id})
}

// latencyChart is the histogram of publish-to-receive latencies, over the
// range that holds any.
func latencyChart(c *counts) *charts.Bar {
	bar := charts.NewBar()
	bar.SetGlobalOptions(chartInit("latency"), charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{Title: "Publish-to-receive latency", Subtitle: "messages per latency bucket"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Name: "ms"}))
	lo, hi := 0, -1
	for i, v := range c {
		if v > 0 {
			if hi < 0 {
				lo = i
			}
			hi = i
		}
	}
	var labels []string
	var data []opts.BarData
	if hi >= 0 {
		step := (hi - lo + maxBars) / maxBars
		for i := lo; i <= hi; i += step {
			var n uint64
			for j := i; j < min(i+step, hi+1); j++ {
				n += c[j]
			}
			upper := time.Duration(bucketLow(min(i+step, hi+1))) * time.Microsecond
			labels = append(labels, fmt.Sprintf("%.3g", float64(upper)/float64(time.Millisecond)))
			data = append(data, opts.BarData{Value: n})
		}
	}
	bar.SetXAxis(labels).AddSeries("messages", data)
	return bar
}

// timeAxis returns the samples' times, in seconds.
func timeAxis(samples []sample) []string {
	xs := make([]string, len(samples))
	for i, s := range samples {
		xs[i] = fmt.Sprintf("%.1f", s.At.Seconds())
	}
	return xs
}

// lineChart is a chart of values over the run.
func lineChart(id, title, unit string, samples []sample, series map[string]func(sample) any, names ...string) *charts.Line {
	line := charts.NewLine()
	line.SetGlobalOptions(chartInit(id), charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{Title: title}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(names) > 1), Right: "10%"}),
		charts.WithXAxisOpts(opts.XAxis{Name: "s"}),
		charts.WithYAxisOpts(opts.YAxis{Name: unit}))
	line.SetXAxis(timeAxis(samples))
	for _, name := range names {
		f := series[name]
		data := make([]opts.LineData, len(samples))
		for i, s := range samples {
			data[i] = opts.LineData{Value: f(s)}
		}
		line.AddSeries(name, data)
	}
	return line
}

func throughputChart(samples []sample) *charts.Line {
	return lineChart("throughput", "Messages received per second", "msg/s", samples,
		map[string]func(sample) any{"msg/s": func(s sample) any { return int64(s.MsgsPerSec) }}, "msg/s")
}

func connectionsChart(samples []sample, clients int) *charts.Line {
	return lineChart("connections", fmt.Sprintf("Open connections (of %d)", clients), "connections", samples,
		map[string]func(sample) any{"open": func(s sample) any { return s.Open }}, "open")
}

func latencyOverTimeChart(samples []sample) *charts.Line {
	msOf := func(d time.Duration) any {
		if d == 0 {
			return "-" // no latency in the interval: a hole in the line, not a zero
		}
		return float64(d.Microseconds()) / 1000
	}
	return lineChart("latencyTime", "Latency over time", "ms", samples, map[string]func(sample) any{
		"p50": func(s sample) any { return msOf(s.P50) },
		"p99": func(s sample) any { return msOf(s.P99) },
	}, "p50", "p99")
}
