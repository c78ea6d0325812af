package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is one headless chromium tab and what its page wrote to the console.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// newBrowser starts chromium with the flags that work in a container (no sandbox, no GPU,
// no network of its own) and a fresh profile, and stops it when the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if browserRequired {
			t.Fatalf("chromium: %v (VIGIL_IT_BROWSER=required; .ci/stages/25-browser.sh installs it)", err)
		}
		t.Skipf("no chromium at %s (apt-get install chromium, or set VIGIL_CHROMIUM)", path)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 860),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx}
	// The first Run starts the browser; no timeout on it (a timeout would end the browser).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1360, 860)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs the steps, failing the test (with the step's name) when one fails or takes longer
// than the bound.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage text:\n%s", what, err, b.pageText())
	}
}

// eval returns the value of a JavaScript expression on the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is true, failing the test after 30 s with
// what the page showed.
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 40*time.Second)
	defer cancel()
	start := time.Now()
	defer func() { b.t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond)) }()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		b.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, predicate, err, b.pageText())
	}
}

// pageText is what the page shows, for failure messages.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// open goes to the console page at a fragment ("#/errors") without reloading when the
// console is already loaded.
func (b *browser) open(base, fragment string) {
	b.t.Helper()
	b.do("open "+fragment, chromedp.Navigate(base+fragment))
	b.waitFor("the page script", `document.querySelector('#main') && document.querySelector('#main').childElementCount > 0`)
}

// hash switches the page without a reload, as a click on a link does.
func (b *browser) hash(fragment string) {
	b.t.Helper()
	eval[chromedp.Void](b, "location.hash = "+jsString(fragment))
}

// clean fails the test when the page threw, logged an error or hit the Content-Security-Policy
// since the last call, or when any injected script ran. allow lists URLs (substrings) whose
// failed loads the test expects, such as a 404 for an unknown fingerprint.
func (b *browser) clean(allow ...string) {
	b.t.Helper()
	b.mu.Lock()
	msgs := b.messages
	b.messages = nil
	b.mu.Unlock()
next:
	for _, m := range msgs {
		if !m.IsException() && m.Type != chromedp.ConsoleError && !strings.Contains(m.Text, "Content Security Policy") {
			continue
		}
		for _, a := range allow {
			if strings.Contains(m.URL, a) && strings.HasPrefix(m.Text, "Failed to load resource") {
				continue next
			}
		}
		b.t.Errorf("page console: %s %s:%d", m, m.URL, m.Line)
	}
	if ran := eval[bool](b, `window.__xss !== undefined`); ran {
		b.t.Errorf("injected script ran: window.__xss = %v", eval[string](b, `String(window.__xss)`))
	}
	// The one script element is app.js; no element carries an event-handler attribute.
	if n := eval[int](b, `document.scripts.length`); n != 1 {
		b.t.Errorf("%d script elements, want 1 (app.js)", n)
	}
	if n := eval[int](b, `[...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on') || /^\s*javascript:/i.test(a.value))).length`); n != 0 {
		b.t.Errorf("%d elements with an on* attribute or javascript: URL", n)
	}
}

// screenshot writes the viewport as dir/name.png when VIGIL_SCREENSHOTS names a directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if screenshotDir == "" {
		return
	}
	// Scroll to the top, and let no row be caught in its "just arrived" highlight.
	eval[chromedp.Void](b, `window.scrollTo(0, 0); document.querySelectorAll('.flash').forEach(e => e.classList.remove('flash'))`)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
}

func jsString(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}
