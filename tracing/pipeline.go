package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/internal/scrub"
)

// pipeline is one exporter behind the SDK's BatchSpanProcessor, with two additions the
// SDK does not offer publicly: an exact count of dropped spans, and a Shutdown that
// leaves nothing running once it returns.
//
// Dropping: pipeline admits a span only while fewer than queueSize admitted spans are
// waiting for the exporter, so the processor's own queue (of the same size) can never
// be full and every drop happens here, where it is counted. Spans whose export fails
// (after the exporter's own retries) or is abandoned at shutdown count as dropped too.
type pipeline struct {
	bsp     sdktrace.SpanProcessor
	exp     *countingExporter
	limit   int64
	waiting atomic.Int64 // admitted, not yet handed to the exporter
	stopped atomic.Bool
	dropped *atomic.Uint64

	once sync.Once
	err  error
}

func newPipeline(exp sdktrace.SpanExporter, s settings, dropped *atomic.Uint64, log *slog.Logger) *pipeline {
	p := &pipeline{limit: int64(s.queueSize), dropped: dropped}
	p.exp = newCountingExporter(exp, p, log, s.matcher)
	p.bsp = sdktrace.NewBatchSpanProcessor(p.exp,
		sdktrace.WithMaxQueueSize(s.queueSize),
		sdktrace.WithExportTimeout(s.timeout),
		// Never sdktrace.WithBlocking: span.End must not wait for a backend.
	)
	return p
}

// OnStart does nothing: the batch processor ignores span starts.
func (*pipeline) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd hands a sampled span to the batch processor, or counts it as dropped.
func (p *pipeline) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.stopped.Load() {
		p.dropped.Add(1)
		return
	}
	if p.waiting.Add(1) > p.limit {
		p.waiting.Add(-1)
		p.dropped.Add(1)
		return
	}
	p.bsp.OnEnd(s)
}

// ForceFlush exports what is queued; it reports a failed export, which the exporter
// wrapper otherwise only logs.
func (p *pipeline) ForceFlush(ctx context.Context) error {
	failures := p.exp.failures.Load()
	if err := p.bsp.ForceFlush(ctx); err != nil {
		return err
	}
	if p.exp.failures.Load() != failures {
		if err := p.exp.lastErr.Load(); err != nil {
			return *err
		}
		return errors.New("tracing: export failed")
	}
	return nil
}

// Shutdown flushes and stops the processor and exporter. It returns by ctx's deadline:
// shortly before it, exports still running are cancelled and the spans they and the
// queue held are counted as dropped, so the processor's goroutine has finished (and
// the exporter's connections are closed) by the time Shutdown returns.
func (p *pipeline) Shutdown(ctx context.Context) error {
	p.once.Do(func() { p.err = p.shutdown(ctx) })
	return p.err
}

func (p *pipeline) shutdown(ctx context.Context) error {
	p.stopped.Store(true)
	sdkCtx, cancel := context.WithCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		// Keep a margin to cancel the exports and let the goroutine finish.
		margin := min(time.Until(deadline)/10, 100*time.Millisecond)
		sdkCtx, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
	}
	defer cancel()
	err := p.bsp.Shutdown(sdkCtx)
	p.exp.abort()
	select {
	case <-p.exp.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil && sdkCtx.Err() != nil {
		return fmt.Errorf("tracing: shutdown cut short, unexported spans dropped: %w", sdkCtx.Err())
	}
	return err
}

// countingExporter wraps the real exporter: it counts failed and abandoned spans as
// dropped and logs failures once per outage instead of once per batch.
type countingExporter struct {
	next    sdktrace.SpanExporter
	p       *pipeline
	log     *slog.Logger
	matcher *scrub.Matcher // nil means the built-in names

	abortCtx context.Context
	abort    context.CancelFunc
	done     chan struct{} // closed when next.Shutdown has returned

	failures atomic.Uint64
	lastErr  atomic.Pointer[error]
	failing  atomic.Bool
	closed   sync.Once
}

func newCountingExporter(next sdktrace.SpanExporter, p *pipeline, log *slog.Logger, m *scrub.Matcher) *countingExporter {
	ctx, cancel := context.WithCancel(context.Background())
	return &countingExporter{next: next, p: p, log: log, matcher: m, abortCtx: ctx, abort: cancel, done: make(chan struct{})}
}

// ExportSpans passes the batch on unless shutdown has abandoned exports. It returns nil
// even on failure: the failure is counted and logged here, and an error would only
// reach OpenTelemetry's process-wide error handler once per batch.
func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := uint64(len(spans))
	e.p.waiting.Add(-int64(n))
	if e.abortCtx.Err() != nil {
		e.p.dropped.Add(n)
		return nil
	}
	spans = redactSpans(spans, e.matcher)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(e.abortCtx, cancel)
	err := e.next.ExportSpans(ctx, spans)
	stop()
	cancel()
	if err != nil {
		e.p.dropped.Add(uint64(failedSpans(err, len(spans)))) // a split batch may fail in part (batch.go)
		e.lastErr.Store(&err)
		e.failures.Add(1)
		if e.failing.CompareAndSwap(false, true) {
			e.log.Warn("tracing: span export failed; spans are dropped until it recovers",
				slog.Int("spans", len(spans)), slog.Any("error", err))
		}
		return nil
	}
	if e.failing.CompareAndSwap(true, false) {
		e.log.Info("tracing: span export recovered", slog.Uint64("dropped_total", e.p.dropped.Load()))
	}
	return nil
}

// Shutdown shuts the real exporter down and signals that the processor is finished.
func (e *countingExporter) Shutdown(ctx context.Context) error {
	defer e.closed.Do(func() { close(e.done) })
	return e.next.Shutdown(ctx)
}

// redactSpans replaces the values of attributes named like secrets (user.password,
// auth.token, ...) on spans and their events, as logs and error events do, and scrubs
// the free text of exceptions (exception.message, exception.stacktrace) and of the
// status description, where panic and error text ("token=...", URLs with passwords)
// lands whoever recorded it. It runs in the exporter's goroutine, and copies only the
// spans that need it.
func redactSpans(spans []sdktrace.ReadOnlySpan, m *scrub.Matcher) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for i, s := range spans {
		desc := s.Status().Description
		if !hasSecret(s.Attributes(), m) && !eventsHaveSecret(s.Events(), m) && m.Text(desc) == desc {
			continue
		}
		if out == nil {
			out = slices.Clone(spans)
		}
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.Attributes = redactAttrs(stub.Attributes, m)
		for j := range stub.Events {
			stub.Events[j].Attributes = redactAttrs(stub.Events[j].Attributes, m)
		}
		stub.Status.Description = m.Text(desc)
		out[i] = stub.Snapshot()
	}
	if out == nil {
		return spans
	}
	return out
}

func eventsHaveSecret(evs []sdktrace.Event, m *scrub.Matcher) bool {
	for _, e := range evs {
		if hasSecret(e.Attributes, m) {
			return true
		}
	}
	return false
}

func hasSecret(kvs []attribute.KeyValue, m *scrub.Matcher) bool {
	for _, kv := range kvs {
		if m.Sensitive(string(kv.Key)) {
			return true
		}
		if s, ok := freeText(kv); ok && m.Text(s) != s {
			return true
		}
	}
	return false
}

func redactAttrs(kvs []attribute.KeyValue, m *scrub.Matcher) []attribute.KeyValue {
	out := slices.Clone(kvs)
	for i, kv := range out {
		if m.Sensitive(string(kv.Key)) {
			out[i] = attribute.String(string(kv.Key), scrub.Redacted)
		} else if s, ok := freeText(kv); ok {
			out[i] = attribute.String(string(kv.Key), m.Text(s))
		}
	}
	return out
}

// freeText returns the value of an attribute that holds exception text, which the
// secret policy scans for secrets inside the text (its name alone says nothing).
func freeText(kv attribute.KeyValue) (string, bool) {
	switch kv.Key {
	case "exception.message", "exception.stacktrace":
		if kv.Value.Type() == attribute.STRING {
			return kv.Value.AsString(), true
		}
	}
	return "", false
}
