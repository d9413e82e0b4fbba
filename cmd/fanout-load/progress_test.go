package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgress drives both displays through a short run's samples: each
// shows the live numbers, and the bar's goroutines end with finish.
func TestProgress(t *testing.T) {
	cfg := testLoad("http://127.0.0.1:8080")
	for _, mode := range []string{"bar", "lines"} {
		t.Run(mode, func(t *testing.T) {
			cfg.Progress = mode
			st := newStats()
			start := time.Now()
			sp := newSampler(st, start)
			var out bytes.Buffer
			p := newProgress(&out, cfg, time.Second, sp)
			st.open.Store(12)
			st.msgs.Store(500)
			st.lat.record(3 * time.Millisecond)
			var s sample
			for i := 1; i <= 4; i++ {
				s = sp.take(start.Add(time.Duration(i) * 250 * time.Millisecond))
				p.update(s)
			}
			p.finish(s) // the bar's goroutines end here (goleak checks)
			if mode == "bar" {
				return // it draws on its refresh ticks: what it drew depends on the timing
			}
			if got := out.String(); !strings.Contains(got, "conns 12/12") || !strings.Contains(got, "violations 0") {
				t.Errorf("the display shows:\n%s", got)
			}
		})
	}
	if _, ok := newProgress(nil, cfg, time.Second, nil).(nopProgress); !ok {
		t.Error("no writer: want no display")
	}
}
