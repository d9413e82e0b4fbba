package metrics

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/fanout-go/fanout"
)

// ContentType is the media type of the Prometheus text format that
// WriteText writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes fams in the Prometheus text exposition format.
func WriteText(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		bw.WriteString("# HELP " + f.Name + " " + f.Help + "\n")
		bw.WriteString("# TYPE " + f.Name + " " + string(f.Type) + "\n")
		for _, s := range f.Samples {
			if s.Histogram != nil {
				writeHistogram(bw, f.Spec, s)
				continue
			}
			writeSample(bw, f.Name, f.Labels, s.LabelValues, "", "", s.Value)
		}
	}
	return bw.Flush()
}

func writeHistogram(w *bufio.Writer, spec Spec, s Sample) {
	h := s.Histogram
	var cum uint64
	for i, c := range h.Counts {
		cum += c
		le := "+Inf"
		if b := fanout.LatencyBound(i); b > 0 {
			le = strconv.FormatFloat(b.Seconds(), 'g', -1, 64)
		}
		writeSample(w, spec.Name+"_bucket", spec.Labels, s.LabelValues, "le", le, float64(cum))
	}
	writeSample(w, spec.Name+"_sum", spec.Labels, s.LabelValues, "", "", h.Sum.Seconds())
	writeSample(w, spec.Name+"_count", spec.Labels, s.LabelValues, "", "", float64(h.Count))
}

func writeSample(w *bufio.Writer, name string, labels, values []string, extra, extraValue string, v float64) {
	w.WriteString(name)
	if len(labels) > 0 || extra != "" {
		w.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(l + `="` + escape(values[i]) + `"`)
		}
		if extra != "" {
			if len(labels) > 0 {
				w.WriteByte(',')
			}
			w.WriteString(extra + `="` + extraValue + `"`)
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	w.WriteByte('\n')
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escape(s string) string { return escaper.Replace(s) }

// NewHandler returns an http.Handler that serves the metrics of hub and
// handlers in the Prometheus text format, for a /metrics endpoint that
// needs no dependency. Each request gathers them afresh (see Gather).
func NewHandler(hub *fanout.Hub, handlers ...Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		_ = WriteText(w, Gather(hub, handlers...))
	})
}
