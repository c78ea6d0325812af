package tracing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/internal/worker"
)

// batcher is the span queue of a pipeline and the goroutine that exports it, in place of
// the SDK's BatchSpanProcessor. The SDK's processor sends every ended span over a
// channel to its export goroutine, which readies that goroutine (and often wakes an idle
// thread) once per span; here an ended span is appended to a slice under a mutex, and
// the goroutine is woken once per full batch, by the batch timer, by ForceFlush or by
// Shutdown. What it keeps of the SDK's processor: MaxQueueSize waiting spans at most
// (the pipeline counts the rest as dropped), batches of at most MaxExportBatchSize,
// each export bounded by ExportTimeout, an export at least every BatchDelay, and
// span.End never waiting for the exporter.
type batcher struct {
	exp   sdktrace.SpanExporter
	size  int           // spans per export, at most
	delay time.Duration // the longest a span waits for a batch to fill
	// timeout bounds each export, retries included.
	timeout time.Duration
	// cancelled is called once the goroutine's context ends: Shutdown's deadline is
	// near (or the goroutine has returned), and exports still running are abandoned.
	cancelled func()

	mu      sync.Mutex
	q       []sdktrace.ReadOnlySpan // admitted, not yet taken by the goroutine
	stopped bool                    // set by stop: nothing is queued any more

	spare []sdktrace.ReadOnlySpan // goroutine-owned: the previous q, emptied, for reuse
	wake  chan struct{}           // capacity 1: a full batch is waiting
	flush chan flushRequest
	w     *worker.W
}

type flushRequest struct {
	ctx  context.Context
	done chan struct{}
}

// errExportTimeout is the cause of an export cut off by ExportTimeout; an exporter's
// error mentions it.
var errExportTimeout = errors.New("processor export timeout")

// newBatcher starts the export goroutine. exp receives batches in order, from one
// goroutine at a time; its Shutdown is called once the queue is drained at stop.
func newBatcher(exp sdktrace.SpanExporter, size int, delay, timeout time.Duration, cancelled func()) *batcher {
	b := &batcher{exp: exp, size: size, delay: delay, timeout: timeout, cancelled: cancelled,
		wake: make(chan struct{}, 1), flush: make(chan flushRequest)}
	b.w = worker.Run("tracing: span export", b.run)
	return b
}

// push queues s and returns pushed, unless the batcher is stopped or limit spans are
// waiting (the pipeline counts what it refuses, by stopped). waiting is incremented
// only here, under the lock, so it never exceeds limit; the exporter decrements it.
func (b *batcher) push(s sdktrace.ReadOnlySpan, waiting *atomic.Int64, limit int64) (pushed, stopped bool) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return false, true
	}
	if waiting.Load() >= limit {
		b.mu.Unlock()
		return false, false
	}
	waiting.Add(1)
	b.q = append(b.q, s)
	full := len(b.q) == b.size
	b.mu.Unlock()
	if full {
		// One send per batch, never blocking: a token already waiting covers this one,
		// and the goroutine exports every full batch it finds when it wakes.
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return true, false
}

// run is the export goroutine. ctx lasts until shortly before the deadline of stop's
// context; stop is closed when stop begins.
func (b *batcher) run(ctx context.Context, stop <-chan struct{}) {
	if b.cancelled != nil {
		defer context.AfterFunc(ctx, b.cancelled)()
	}
	// Exports end by their timeout or through cancelled, which tells the exporter that
	// Shutdown abandoned them, not by ctx itself.
	base := context.WithoutCancel(ctx)
	t := time.NewTimer(b.delay)
	defer t.Stop()
	for {
		select {
		case <-b.wake:
			b.export(base, false)
		case <-t.C:
			b.export(base, true)
			t.Reset(b.delay)
		case req := <-b.flush:
			b.export(req.ctx, true)
			close(req.done)
		case <-stop:
			// stopped is set: this takes the last spans there will be.
			b.export(base, true)
			_ = b.exp.Shutdown(ctx)
			return
		}
	}
}

// export hands the queue to the exporter in batches of at most size spans: everything
// queued now when all is set, else full batches for as long as there are some (a
// partial batch waits for the timer).
func (b *batcher) export(ctx context.Context, all bool) {
	for {
		b.mu.Lock()
		n := len(b.q)
		if !all {
			n -= n % b.size
		}
		if n == 0 {
			b.mu.Unlock()
			return
		}
		taken := b.q
		// The rest (less than a batch) moves to the spare buffer, which becomes the queue.
		b.q, b.spare = append(b.spare[:0], taken[n:]...), nil
		b.mu.Unlock()
		spans := taken[:n]
		for rest := spans; len(rest) > 0; {
			n := min(len(rest), b.size)
			ectx, cancel := context.WithTimeoutCause(ctx, b.timeout, errExportTimeout)
			_ = b.exp.ExportSpans(ectx, rest[:n])
			cancel()
			rest = rest[n:]
		}
		clear(taken) // the spans are the exporter's business now; keep none alive
		b.spare = taken[:0]
		if all {
			return
		}
	}
}

// forceFlush exports everything queued when the goroutine takes the request, and
// returns when that is done or ctx ends. A stopped batcher has nothing to flush.
func (b *batcher) forceFlush(ctx context.Context) error {
	req := flushRequest{ctx: ctx, done: make(chan struct{})}
	select {
	case b.flush <- req:
	case <-b.w.Done():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case <-req.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// stop refuses further spans, then drains the queue through the exporter and shuts it
// down under the worker protocol: see worker.W.Stop for how ctx bounds it.
func (b *batcher) stop(ctx context.Context) error {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	return b.w.Stop(ctx)
}
