package main

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sampleResult is a result as a run of 20 clients with two violations
// would give.
func sampleResult() *result {
	cfg := testLoad("http://127.0.0.1:8080")
	r := &result{Config: cfg, Start: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), Elapsed: 5 * time.Second,
		RampTime: 100 * time.Millisecond, Started: 20, PeakOpen: 20, Connects: 20, Msgs: 4000, Bytes: 800000,
		Updates: 3980, Latency: &counts{}, Errors: map[string]uint64{"ws: closed 4001": 2}}
	r.Violations[Gap] = 2
	r.Examples = []example{{At: time.Second, Client: 3, Kind: Gap, Detail: `update 9 of "t" after 7, not marked`}}
	var h histogram
	for i := range 3980 {
		h.record(time.Duration(200+i%1000*10) * time.Microsecond)
	}
	r.Latency = h.snapshot()
	for i := range 20 {
		r.Samples = append(r.Samples, sample{At: time.Duration(i+1) * 250 * time.Millisecond, Open: int64(min(20, 4*(i+1))),
			MsgsPerSec: float64(700 + 10*i), P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Violations: uint64(i / 10)})
	}
	return r
}

// TestReportOffline checks that the report loads nothing from the
// network: the chart library is inline.
func TestReportOffline(t *testing.T) {
	var b bytes.Buffer
	if err := writeReport(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if m := regexp.MustCompile(`<(script|link)[^>]+(src|href)=`).FindString(html); m != "" {
		t.Errorf("the report loads an asset: %s", m)
	}
	for _, want := range []string{"echarts", `id="summary"`, `id="violations"`, "2 violations"} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// chromiumPath returns the browser to drive: $CHROMIUM, or Debian's
// chromium. Without one the test is skipped, or fails under CI=true.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "no chromium: install it (apt-get install -y chromium) or set $CHROMIUM to a Chromium binary"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestReportInChromium makes a report as a user would, with a short run
// of the command against its own server, opens it in headless Chromium,
// which has no network, and checks that its four charts are drawn: each
// chart's container holds a canvas of nonzero size, and the page raised
// no error.
func TestReportInChromium(t *testing.T) {
	exe := chromiumPath(t)
	url := startServe(t, serveConfig{Addr: "127.0.0.1:0", Rate: 20, Topics: 2, Pattern: "load:%d", Size: 128, MaxConns: 100})
	file := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr strings.Builder
	code := command(context.Background(), []string{"-url", url, "-clients", "10", "-transport", "ws,sse,poll",
		"-topic-count", "2", "-duration", "1500ms", "-interval", "250ms", "-progress", "off", "-report", file},
		&stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit status %d\n%s%s", code, stdout.String(), stderr.String())
	}

	ctx, pageErrors := newBrowser(t, exe)

	// Every chart's container and the size of the canvas drawn in it.
	const charts = `Array.from(document.querySelectorAll("div.item")).map(d => {
		const c = d.querySelector("canvas");
		return {id: d.id, w: c ? c.width : 0, h: c ? c.height : 0};
	})`
	type chart struct {
		ID   string `json:"id"`
		W, H int
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate("file://"+file),
		chromedp.Poll[chromedp.Void](charts+`.filter(c => c.w > 0 && c.h > 0).length == 4`,
			chromedp.WithPollingTimeout(30*time.Second)),
	)
	got, gerr := chromedp.Run(ctx, chromedp.Evaluate[[]chart](charts))
	if err != nil || gerr != nil {
		t.Fatalf("the charts were not drawn: %v, %v (the page: %+v)", err, gerr, got)
	}
	ids := make([]string, 0, len(got))
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, ",") != "latency,throughput,connections,latencyTime" {
		t.Errorf("charts %v", ids)
	}
	title, err := chromedp.Run(ctx, chromedp.Text("h1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "no violation") {
		t.Errorf("the title says %q", title)
	}
	if errs := pageErrors(); len(errs) > 0 {
		t.Errorf("the page raised: %v", errs)
	}
	screenshot(t, ctx)
}

// screenshot saves the page as fanout-load-report.png in $ARTIFACTS_DIR,
// or in the test's temporary directory, for people to look at; tests
// never compare pixels.
func screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	dir := cmp.Or(os.Getenv("ARTIFACTS_DIR"), t.TempDir())
	file := filepath.Join(dir, "fanout-load-report.png")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", file)
}

// newBrowser starts a headless Chromium with one tab for the test, which
// closes it and waits for it at cleanup, and returns the tab and a
// function that returns the page's exceptions and console errors so far.
// Every wait in the tab ends within a minute.
func newBrowser(t *testing.T, exe string) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1200),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // guards errs
		errs []string   // the page's exceptions and console errors
	)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		wg.Wait()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start chromium: %v", err)
	}
	console := chromedp.Console(ctx)
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			t.Logf("page %s", m)
			if m.Type == chromedp.ConsoleException || m.Type == "error" {
				mu.Lock()
				errs = append(errs, m.Text)
				mu.Unlock()
			}
		}
	})

	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}
