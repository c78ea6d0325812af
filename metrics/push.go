package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/graphite"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Push targets, as the target label of the vigil_metrics_push_* self-metrics.
const (
	targetPushgateway = iota
	targetGraphite
	numTargets
)

var targetNames = [numTargets]string{"pushgateway", "graphite"}

// loop runs push every interval and once more at stop, in one goroutine; failures are
// counted and logged on the transition, never returned to a caller.
type loop struct {
	r        *Registry
	target   int
	interval time.Duration
	push     func(context.Context) error

	stopCh chan struct{}
	done   chan struct{}
	once   sync.Once
	final  chan error
	down   atomic.Bool
}

func startLoop(r *Registry, target int, interval time.Duration, push func(context.Context) error) *loop {
	l := &loop{r: r, target: target, interval: interval, push: push,
		stopCh: make(chan struct{}), done: make(chan struct{}), final: make(chan error, 1)}
	go l.run()
	return l
}

func (l *loop) run() {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.interval)
			_ = l.once1(ctx)
			cancel()
		case <-l.stopCh:
			return
		}
	}
}

func (l *loop) once1(ctx context.Context) error {
	err := l.push(ctx)
	l.r.pushes[l.target].Add(1)
	if err != nil {
		l.r.pushFailures[l.target].Add(1)
		if l.down.CompareAndSwap(false, true) {
			l.r.logger.Warn("metrics: push failed", "target", targetNames[l.target], "error", err)
		}
		return err
	}
	if l.down.CompareAndSwap(true, false) {
		l.r.logger.Info("metrics: push recovered", "target", targetNames[l.target])
	}
	return nil
}

// stop ends the loop and makes the final push within ctx.
func (l *loop) stop(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.once.Do(func() { close(l.stopCh) })
	select {
	case <-l.done:
	case <-ctx.Done():
		return fmt.Errorf("metrics: %s: %w", targetNames[l.target], ctx.Err())
	}
	go func() { l.final <- l.once1(ctx) }()
	select {
	case err := <-l.final:
		if err != nil {
			return fmt.Errorf("metrics: %s: final push: %w", targetNames[l.target], err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("metrics: %s: final push: %w", targetNames[l.target], ctx.Err())
	}
}

type pusher struct{ *loop }

// newPusher pushes the whole registry to the Pushgateway with PUT, replacing the job's
// group each time, which is what a batch job's last state should look like.
func newPusher(cfg PushConfig, r *Registry) *pusher {
	p := push.New(cfg.URL, cfg.Job).Gatherer(r.reg).Client(&http.Client{Timeout: cfg.Interval})
	for k, v := range cfg.Grouping {
		p = p.Grouping(k, v)
	}
	return &pusher{startLoop(r, targetPushgateway, cfg.Interval, p.PushContext)}
}

func (p *pusher) stop(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.loop.stop(ctx)
}

type graphiteBridge struct{ *loop }

// newGraphite pushes the registry in Graphite's plaintext protocol through
// client_golang's bridge; the bridge dials with its own timeout, so a dead server costs
// the push goroutine at most that.
func newGraphite(cfg GraphiteConfig, r *Registry) (*graphiteBridge, error) {
	b, err := graphite.NewBridge(&graphite.Config{
		URL: cfg.Addr, Prefix: cfg.Prefix, Interval: cfg.Interval, Timeout: min(cfg.Interval, 10*time.Second),
		Gatherer: r.reg, ErrorHandling: graphite.ContinueOnError,
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: Graphite.Addr=%q: %w", cfg.Addr, err)
	}
	pushFn := func(ctx context.Context) error {
		done := make(chan error, 1)
		go func() { done <- b.Push() }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return errors.New("graphite push: " + ctx.Err().Error())
		}
	}
	return &graphiteBridge{startLoop(r, targetGraphite, cfg.Interval, pushFn)}, nil
}

func (g *graphiteBridge) stop(ctx context.Context) error {
	if g == nil {
		return nil
	}
	return g.loop.stop(ctx)
}
