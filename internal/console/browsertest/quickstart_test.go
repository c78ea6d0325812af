package browsertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// quickstart is a running examples/quickstart process.
type quickstart struct {
	base    string // the service, "http://127.0.0.1:PORT"
	console string // the console page, base + "/debug/vigil/"
	out     *tail  // its stdout and stderr, for failure messages
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// buildQuickstart builds examples/quickstart once per test binary, from the repository
// this module sits in.
func buildQuickstart(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-browsertest-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "quickstart")
		cmd := exec.Command("go", "build", "-o", buildBin, "./examples/quickstart")
		cmd.Dir = filepath.Join("..", "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./examples/quickstart: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// startQuickstart runs the quick start on addr (port 0: a free one) and returns once it
// printed where it listens; it is stopped with SIGINT when the test ends.
func startQuickstart(t *testing.T, addr string, demo bool, env ...string) *quickstart {
	t.Helper()
	bin := buildQuickstart(t)
	args := []string{"-addr", addr}
	if demo {
		args = append(args, "-demo")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &tail{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	listening := make(chan quickstart, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = out.Write(append(line, '\n'))
			var l struct {
				Msg     string `json:"msg"`
				Try     string `json:"try"`
				Console string `json:"console"`
			}
			if json.Unmarshal(line, &l) == nil && l.Msg == "listening" {
				listening <- quickstart{base: strings.TrimSuffix(l.Try, "/orders/42"), console: l.Console}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	select {
	case q := <-listening:
		if q.console == "" {
			t.Fatalf("the quick start's listening line has no console URL:\n%s", out)
		}
		q.out = out
		return &q
	case <-done:
		t.Fatalf("the quick start exited:\n%s", out)
	case <-time.After(60 * time.Second):
		t.Fatalf("the quick start did not listen within 60s:\n%s", out)
	}
	return nil
}

// get sends one request to the service, with a User-Agent when ua is set.
func get(t *testing.T, rawURL, ua string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The injected strings: if the console ever let one reach the DOM as markup, window.__xss
// would be set.
const (
	xssID = `<script>window.__xss=1</script>`
	xssUA = `<img src=x onerror="window.__xss=2"><script>window.__xss=3</script>`
)

// TestQuickstart runs the quick start with demo traffic and checks, in chromium, what the
// issue's "Show" list promises: the panic group with its count, its stack and its trace,
// the span tree with the child span, the span's log lines, /orders/{id} with percentiles and
// a chart, a new request appearing without a reload, and hostile paths and user agents
// shown as text. With VIGIL_SCREENSHOTS=dir it writes a PNG of each page there.
func TestQuickstart(t *testing.T) {
	b := newBrowser(t)
	qs := startQuickstart(t, "127.0.0.1:0", true)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("quick start output (tail):\n%s", qs.out)
		}
	})

	// Traffic of our own, beside the demo's: panics, a checkout (an outgoing call), orders,
	// and a request whose path and User-Agent carry script.
	// The hostile panic comes first: its group keeps the first event of a burst (later ones
	// are counted as duplicates), and the demo's first request is 250 ms away.
	get(t, qs.base+"/panic?items="+url.QueryEscape(xssID), xssUA)
	get(t, qs.base+"/orders/"+url.PathEscape(xssID), xssUA)
	for range 3 {
		get(t, qs.base+"/panic?items=a", "")
	}
	get(t, qs.base+"/fail", "")
	var wg sync.WaitGroup
	for i := range 12 { // checkouts take 50–250 ms each: a latency histogram with a shape
		wg.Go(func() { get(t, qs.base+"/checkout/"+[]string{"book", "lamp", "desk"}[i%3], "") })
	}
	for i := range 20 {
		get(t, fmt.Sprintf("%s/orders/%d", qs.base, 40+i%7), "")
	}
	wg.Wait()

	// Errors: the panic group, with its count.
	b.open(qs.console, "#/errors")
	panicRow := `[...document.querySelectorAll('table.errors tbody tr')].find(tr => tr.querySelector('td.route').textContent === '/panic')`
	b.waitFor("the panic group with a count of at least 4",
		`(r => r && Number(r.querySelector('td.count').textContent.replace(/,/g, '')) >= 4)(`+panicRow+`)`)
	if title := eval[string](b, panicRow+`.querySelector('.etitle').textContent`); !strings.Contains(title, "index out of range") {
		t.Errorf("panic group title %q", title)
	}
	b.clean()
	if screenshotDir != "" {
		// The picture shows the background job's panic too (job 2, four seconds in).
		b.waitFor("three error groups", `document.querySelectorAll('table.errors tbody tr').length >= 3`)
	}
	b.screenshot("errors")

	// Click it: the stack, with the handler's frame marked as the application's.
	fp := eval[string](b, panicRow+`.getAttribute('data-fingerprint')`)
	b.do("click the panic group", chromedp.Click(chromedp.CSS(`tr[data-fingerprint="`+fp+`"] td.title a`), chromedp.NodeVisible))
	b.waitFor("the stack with the handler marked in-app",
		`[...document.querySelectorAll('ol.stack .frame.app .fn')].some(f => f.textContent.includes('panics'))`)
	// One of the group's events is the hostile request: its User-Agent shows as text.
	found := eval[bool](b, `(() => {
		const has = () => document.getElementById('main').textContent.includes(`+jsString(xssUA)+`);
		const n = document.querySelectorAll('.events-pick button').length;
		if (has()) return true;
		for (let i = 0; i < n; i++) {
			document.querySelectorAll('.events-pick button')[i].click();
			if (has()) return true;
		}
		return false;
	})()`)
	if !found {
		// The group keeps the first event of a burst and counts the rest; under load a demo
		// panic can come first. The log tail below shows the same User-Agent, and the page
		// test shows hostile request headers with a fake API.
		t.Logf("the hostile panic is not among the group's kept events (a demo panic came first)")
	}
	b.clean()
	// Back to the newest event for the screenshot.
	eval[chromedp.Void](b, `(document.querySelector('.events-pick button') || {click() {}}).click()`)
	b.screenshot("error")

	// Open its trace: the span tree shows the handler's child span.
	b.do("open the trace", chromedp.Click(chromedp.CSS(`.facts a[href^="#/traces/"]`), chromedp.NodeVisible))
	b.waitFor("the span tree with the child span",
		`[...document.querySelectorAll('.srow[data-depth="0"] .nm')].some(n => n.textContent === 'GET /panic') &&
		 [...document.querySelectorAll('.srow[data-depth="1"] .nm')].some(n => n.textContent === 'parse cart')`)

	// The child span links to its log line.
	b.do("select the child span", chromedp.Click(chromedp.CSS(`.srow[data-depth="1"] .nm`), chromedp.NodeVisible))
	b.waitFor("the span's detail with its log link", `document.querySelector('.sdetail a[href*="span_id="]')`)
	b.clean()
	b.screenshot("trace")
	b.do("open the span's log lines", chromedp.Click(chromedp.CSS(`.sdetail a[href*="span_id="]`), chromedp.NodeVisible))
	b.waitFor("the span's log line", `location.hash.startsWith('#/logs') && document.querySelectorAll('.chip').length === 2 &&
		[...document.querySelectorAll('.logrow .msg')].some(m => m.textContent === 'parsing cart')`)
	if n := eval[int](b, `[...document.querySelectorAll('.logrow .msg')].filter(m => m.textContent !== 'parsing cart').length`); n != 0 {
		t.Errorf("the span's log lines include %d lines of other spans", n)
	}
	b.clean()

	// Routes: /orders/{id} with its percentiles and a chart.
	b.hash(`#/routes?route=` + url.QueryEscape("/orders/{id}"))
	b.waitFor("/orders/{id} with percentiles and a chart",
		`(r => r && ['p50', 'p90', 'p99'].every(p => /\d/.test(r.querySelector('td.' + p).textContent)))(document.querySelector('table.routes tr.on[data-route="/orders/{id}"]')) &&
		 document.querySelector('.routedetail[data-route="/orders/{id}"] svg.chart') &&
		 document.querySelectorAll('.routedetail svg.chart rect.hbar').length > 0`)
	b.clean()
	// The picture shows a route with a spread of latencies: the checkout.
	b.hash(`#/routes?route=` + url.QueryEscape("/checkout/{sku}"))
	b.waitFor("the checkout's chart", `document.querySelector('.routedetail[data-route="/checkout/{sku}"] svg.chart rect.hbar')`)
	b.screenshot("routes")

	// Traces: the recent list holds the checkout with its spans.
	b.hash("#/traces")
	b.waitFor("recent traces", `document.querySelectorAll('table.traces tbody tr').length > 3`)
	b.clean()
	b.screenshot("traces")

	// A checkout's tree: server span, the "reserve stock" child, its outgoing call, and the
	// downstream server span under it.
	b.hash("#/traces?route=" + url.QueryEscape("/checkout/{sku}"))
	b.waitFor("a checkout trace", `document.querySelector('table.traces tbody tr[data-trace]')`)
	b.do("open a checkout trace", chromedp.Click(chromedp.CSS(`table.traces tbody tr[data-trace] td a`), chromedp.NodeVisible))
	b.waitFor("the checkout's span tree", `document.querySelectorAll('.srow[data-span]').length >= 4 &&
		document.querySelector('.srow[data-depth="1"]') && document.querySelector('.srow[data-depth="2"]')`)
	b.clean()
	b.screenshot("trace-checkout")

	// vigil itself: runtime figures, counters, configuration with sources.
	b.hash("#/vigil")
	b.waitFor("vigil's own page, with the quick start's health check", `document.querySelector('dl.figures') && document.querySelector('table.config tbody tr') &&
		[...document.querySelectorAll('.panel')].some(p => p.querySelector('h2').textContent === 'Health' && p.textContent.includes('inventory'))`)
	b.clean()
	b.screenshot("vigil")

	// Logs: a new request appears without a reload; the hostile path shows as text.
	b.hash("#/logs")
	b.waitFor("log lines", `document.querySelectorAll('.logrow').length > 5`)
	eval[chromedp.Void](b, `window.__noReload = 1`)
	marker := fmt.Sprintf("live-%d", time.Now().UnixNano())
	get(t, qs.base+"/orders/"+marker, "")
	b.waitFor("the new request on the live tail, without a reload",
		`window.__noReload === 1 && document.querySelector('.loglist').textContent.includes(`+jsString(marker)+`)`)
	b.clean()
	b.screenshot("logs")
	// The level filter: errors only.
	b.hash("#/logs?level=error")
	b.waitFor("error lines only", `document.querySelectorAll('.logrow').length > 0 &&
		[...document.querySelectorAll('.logrow .lv')].every(l => l.textContent === 'error')`)
	b.hash("#/logs?q=" + url.QueryEscape("__xss"))
	b.waitFor("the hostile request's path and User-Agent, as text", `document.querySelector('.loglist').textContent.includes(`+jsString(xssID)+`) &&
		document.querySelector('.loglist').textContent.includes(`+jsString(xssUA)+`)`)
	b.clean()
}

// TestQuickstartRefusesRemoteClients starts the quick start on a non-loopback address of this
// machine and checks that the console refuses a client that is not on loopback (there is no
// token), while the service answers it.
func TestQuickstartRefusesRemoteClients(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("this machine has no non-loopback IPv4 address")
	}
	qs := startQuickstart(t, net.JoinHostPort(ip, "0"), false)
	if !strings.Contains(qs.base, ip) {
		t.Fatalf("quick start at %s, want %s", qs.base, ip)
	}
	if code := get(t, qs.base+"/orders/42", ""); code != http.StatusOK {
		t.Fatalf("GET /orders/42 from %s: %d", ip, code)
	}
	for _, p := range []string{"/debug/vigil/", "/debug/vigil/app.js", "/debug/vigil/api/errors", "/debug/vigil/api/logs", "/debug/vigil/api/self"} {
		if code := get(t, qs.base+p, ""); code != http.StatusForbidden && code != http.StatusUnauthorized {
			t.Errorf("GET %s from %s (not loopback, no token): %d, want 403", p, ip, code)
		}
	}
	// The browser gets the refusal too, and no page.
	b := newBrowser(t)
	b.do("open the console from afar", chromedp.Navigate(qs.console))
	if n := eval[int](b, `document.querySelectorAll('#main, script').length`); n != 0 {
		t.Errorf("the refused browser got the page (%d elements)", n)
	}
}

// TestQuickstartTokenFromAfar sets VIGIL_CONSOLE_TOKEN: a client off loopback is then served
// once it opened the page with ?token= (which sets a cookie), and refused with a wrong one.
func TestQuickstartTokenFromAfar(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("this machine has no non-loopback IPv4 address")
	}
	const token = "s3cret-console-token"
	qs := startQuickstart(t, net.JoinHostPort(ip, "0"), false, "VIGIL_CONSOLE_TOKEN="+token)
	if code := get(t, qs.console+"?token=wrong", ""); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 403", code)
	}
	b := newBrowser(t)
	b.do("open the console with its token", chromedp.Navigate(qs.console+"?token="+token))
	b.waitFor("the page, served with the token's cookie", `location.search === '' && document.querySelector('#main') &&
		document.querySelector('#live') && !document.querySelector('#live').classList.contains('offline') &&
		document.querySelector('table.errors, .empty')`)
	b.hash("#/vigil")
	b.waitFor("vigil's page over the API", `document.querySelector('table.config tbody tr')`)
	// The token is a secret: the configuration shows it masked.
	if eval[bool](b, `document.getElementById('main').textContent.includes(`+jsString(token)+`)`) {
		t.Errorf("the console shows its own token")
	}
	b.clean()
}

func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			// Only an address we can listen on and dial.
			ln, err := net.Listen("tcp", net.JoinHostPort(n.IP.String(), "0"))
			if err != nil {
				continue
			}
			ln.Close()
			return n.IP.String()
		}
	}
	return ""
}

// tail keeps the last 8 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - 8<<10; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
