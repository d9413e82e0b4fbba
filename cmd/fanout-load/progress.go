package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress shows a run as it goes. One goroutine calls update, then
// finish once.
type progress interface {
	update(s sample)
	finish(s sample)
}

// linesEvery is how often the line display prints, at most.
const linesEvery = 5 * time.Second

// newProgress returns the display cfg.Progress asks for on w: a bar (mpb)
// on a terminal, a line every few seconds otherwise. planned is the
// run's planned length.
func newProgress(w io.Writer, cfg loadConfig, planned time.Duration, sp *sampler) progress {
	mode := cfg.Progress
	if w == nil {
		mode = "off"
	}
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				mode = "bar"
			}
		}
	}
	switch mode {
	case "bar":
		return newBar(w, cfg.Clients, planned, sp)
	case "lines":
		return &lines{w: w, clients: cfg.Clients}
	}
	return nopProgress{}
}

type nopProgress struct{}

func (nopProgress) update(sample) {}
func (nopProgress) finish(sample) {}

// statusLine is the live numbers: connections, messages/s, latency and
// violations.
func statusLine(s sample, clients int) string {
	return fmt.Sprintf("conns %d/%d  %s msg/s  p50 %s  p99 %s  violations %d",
		s.Open, clients, rate(s.MsgsPerSec), ms(s.P50), ms(s.P99), s.Violations)
}

// lines prints the status line every linesEvery, for logs and pipes.
type lines struct {
	w       io.Writer
	clients int
	last    time.Duration
}

func (l *lines) update(s sample) {
	if l.last == 0 || s.At-l.last >= linesEvery {
		l.last = s.At
		fmt.Fprintf(l.w, "%6.1fs  %s\n", s.At.Seconds(), statusLine(s, l.clients))
	}
}

func (l *lines) finish(s sample) {
	fmt.Fprintf(l.w, "%6.1fs  %s\n", s.At.Seconds(), statusLine(s, l.clients))
}

// bar is a progress bar of the run's planned time, with the live numbers
// beside it.
type bar struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

func newBar(w io.Writer, clients int, planned time.Duration, sp *sampler) *bar {
	p := mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithWidth(24), mpb.WithRefreshRate(250*time.Millisecond))
	b := p.New(max(planned.Milliseconds(), 1), mpb.BarStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf("%5.0fs", sp.last().At.Seconds())
		})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			return statusLine(sp.last(), clients)
		})),
	)
	return &bar{p: p, bar: b}
}

func (b *bar) update(s sample) { b.bar.SetCurrent(s.At.Milliseconds()) }

// finish completes the bar, whether the run ended early or late, and
// waits for its last rendering.
func (b *bar) finish(sample) {
	b.bar.SetTotal(-1, true)
	b.p.Wait()
}

// ms formats a latency in milliseconds to three digits, or in seconds from
// one second on; "-" for none.
func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
}

// rate formats a rate with a k or M suffix.
func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
