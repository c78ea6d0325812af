package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/graphite"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/worker"
)

// Push targets, as the target label of the vigil_metrics_push_* self-metrics.
const (
	targetPushgateway = iota
	targetGraphite
	numTargets
)

var targetNames = [numTargets]string{"pushgateway", "graphite"}

// pushLoop pushes every interval and once more at Shutdown, in one worker; failures of
// the periodic pushes are counted and logged on the transition (the next push replaces
// what a failed one would have sent), the final push's failure is Shutdown's error.
type pushLoop struct {
	r      *Registry
	target int
	push   func(context.Context) error
	w      *worker.W
	final  atomic.Pointer[error] // the final push's result, once it has returned
	down   atomic.Bool
	close  func() // releases connections after the final push
	status exportState
}

// targetTitles name the targets in errors.
var targetTitles = [numTargets]string{"Pushgateway", "Graphite"}

func startLoop(r *Registry, target int, interval time.Duration, push func(context.Context) error, closeFn func()) *pushLoop {
	l := &pushLoop{r: r, target: target, push: push, close: closeFn}
	l.w = worker.Every("metrics: "+targetTitles[target]+" push", interval,
		func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, interval)
			defer cancel()
			_ = l.once(ctx)
		},
		func(ctx context.Context) {
			err := l.once(ctx)
			l.final.Store(&err)
		})
	return l
}

func (l *pushLoop) once(ctx context.Context) error {
	err := l.push(ctx)
	l.r.pushes[l.target].Add(1)
	if err != nil {
		err = &pushError{msg: l.r.matcher.Text(err.Error()), err: err}
		l.r.pushFailures[l.target].Add(1)
		l.status.failed(err.Error())
		if l.down.CompareAndSwap(false, true) {
			l.r.logger.Warn("metrics: push failed", "target", targetNames[l.target], "error", err.Error())
		}
		return err
	}
	l.status.ok()
	if l.down.CompareAndSwap(true, false) {
		l.r.logger.Info("metrics: push recovered", "target", targetNames[l.target])
	}
	return nil
}

// stop ends the loop and makes the final push within ctx; the error says why the final
// push failed or did not finish.
func (l *pushLoop) stop(ctx context.Context) error {
	if l == nil {
		return nil
	}
	stopErr := l.w.Stop(ctx)
	if l.close != nil {
		select {
		case <-l.w.Done():
			l.close()
		default: // still running; it must not lose its connection under it
		}
	}
	title := targetTitles[l.target]
	if p := l.final.Load(); p != nil {
		if *p == nil {
			return nil
		}
		return &pushError{msg: fmt.Sprintf("metrics: final %s push failed: %v", title, *p), err: *p}
	}
	return &pushError{msg: fmt.Sprintf("metrics: final %s push failed: not finished when the deadline passed", title), err: stopErr}
}

// pushError carries a push failure's text with secrets scrubbed (the Pushgateway's error
// quotes its URL) while errors.Is still sees the cause, context.DeadlineExceeded say.
type pushError struct {
	msg string
	err error
}

func (e *pushError) Error() string { return e.msg }
func (e *pushError) Unwrap() error { return e.err }

// limitedBody bounds what a push reads of a response: the Pushgateway client reads an
// error body whole into its error text.
type limitedBody struct{ base http.RoundTripper }

func (t limitedBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, limits.BackendBody), resp.Body}
	return resp, nil
}

type pusher struct{ *pushLoop }

// newPusher pushes the whole registry to the Pushgateway with PUT, replacing the job's
// group each time, which is what a batch job's last state should look like. Userinfo in
// the URL becomes basic auth, so the password is in no URL an error or log line quotes.
func newPusher(cfg PushConfig, r *Registry) *pusher {
	target := cfg.URL
	var user, pass string
	var hasAuth bool
	if u, err := url.Parse(cfg.URL); err == nil && u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		hasAuth = true
		u.User = nil
		target = u.String()
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns = 1
	client := &http.Client{Timeout: cfg.Interval, Transport: limitedBody{base}}
	p := push.New(target, cfg.Job).Gatherer(r.reg).Client(client)
	if hasAuth {
		p = p.BasicAuth(user, pass)
	}
	for k, v := range cfg.Grouping {
		p = p.Grouping(k, v)
	}
	return &pusher{startLoop(r, targetPushgateway, cfg.Interval, p.PushContext, base.CloseIdleConnections)}
}

func (p *pusher) stop(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.pushLoop.stop(ctx)
}

type graphiteBridge struct{ *pushLoop }

// newGraphite pushes the registry in Graphite's plaintext protocol through
// client_golang's bridge. The bridge takes no context, only a dial timeout, so each push
// builds one whose timeout ends with the push's context: a dead server costs the push
// goroutine no longer than the caller waits. (A server that accepts but never reads can
// still hold a write larger than the socket buffers; the goroutine ends when it closes.)
func newGraphite(cfg GraphiteConfig, r *Registry) (*graphiteBridge, error) {
	bridgeCfg := graphite.Config{
		URL: cfg.Addr, Prefix: cfg.Prefix, Interval: cfg.Interval, Timeout: min(cfg.Interval, 10*time.Second),
		Gatherer: r.reg, ErrorHandling: graphite.ContinueOnError,
	}
	if _, err := graphite.NewBridge(&bridgeCfg); err != nil {
		return nil, fmt.Errorf("metrics: Graphite.Addr=%q: %w", cfg.Addr, err)
	}
	pushFn := func(ctx context.Context) error {
		c := bridgeCfg
		if deadline, ok := ctx.Deadline(); ok {
			c.Timeout = max(min(c.Timeout, time.Until(deadline)), time.Millisecond)
		}
		b, err := graphite.NewBridge(&c)
		if err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- b.Push() }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("graphite push to %s: %w", cfg.Addr, context.Cause(ctx))
		}
	}
	return &graphiteBridge{startLoop(r, targetGraphite, cfg.Interval, pushFn, nil)}, nil
}

func (g *graphiteBridge) stop(ctx context.Context) error {
	if g == nil {
		return nil
	}
	return g.pushLoop.stop(ctx)
}
