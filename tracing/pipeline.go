package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/internal/scrub"
	"github.com/vigil-go/vigil/internal/worker"
)

// pipeline is one exporter behind a batcher (processor.go), vigil's own batch span
// processor, with what the SDK's does not offer publicly: an exact count of dropped
// spans, by cause, no goroutine wake-up per ended span, and a Shutdown that leaves
// nothing running once it returns and names what was lost.
//
// Dropping: pipeline admits a span only while fewer than queueSize admitted spans are
// waiting for the exporter; every other span is dropped here, where it is counted.
// Spans whose export fails (after the exporter's own retries) or is abandoned at
// shutdown count as dropped too.
type pipeline struct {
	b       *batcher
	exp     *countingExporter
	limit   int64
	waiting atomic.Int64 // admitted, not yet handed to the exporter
	stopped atomic.Bool
	dropped *atomic.Uint64 // the provider's total, shared by its pipelines
	causes  [numDropCauses]atomic.Uint64

	once sync.Once
	err  error
}

// Why a span was dropped, for Shutdown's error.
const (
	dropQueueFull = iota // the exporter fell behind: more than MaxQueueSize waiting
	dropExport           // the export failed after the exporter's retries
	dropDeadline         // not exported when Shutdown's deadline came
	dropClosed           // ended after Shutdown began
	numDropCauses
)

var dropCauseText = [numDropCauses]string{
	"queue full", "export failed", "not flushed when the deadline passed", "ended after Shutdown",
}

func (p *pipeline) drop(cause int, n uint64) {
	p.causes[cause].Add(n)
	p.dropped.Add(n)
}

func newPipeline(exp sdktrace.SpanExporter, s settings, dropped *atomic.Uint64, log *slog.Logger) *pipeline {
	p := &pipeline{limit: int64(s.queueSize), dropped: dropped}
	p.exp = newCountingExporter(exp, p, log, s.matcher)
	p.b = newBatcher(p.exp, min(s.batchSize, s.queueSize), s.batchDelay, s.timeout, p.exp.abort)
	return p
}

// OnStart does nothing: spans are exported when they end.
func (*pipeline) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span for export, or counts it as dropped. It never waits for
// the exporter: the queue's lock is held only to append.
func (p *pipeline) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.stopped.Load() {
		p.drop(dropClosed, 1)
		return
	}
	switch pushed, stopped := p.b.push(s, &p.waiting, p.limit); {
	case stopped:
		p.drop(dropClosed, 1)
	case !pushed:
		p.drop(dropQueueFull, 1)
	}
}

// ForceFlush exports what is queued; it reports a failed export, which the exporter
// wrapper otherwise only logs.
func (p *pipeline) ForceFlush(ctx context.Context) error {
	failures := p.exp.failures.Load()
	if err := p.b.forceFlush(ctx); err != nil {
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
// the exporter's connections are closed) by the time Shutdown returns. The error names
// every span dropped since the pipeline started, by cause; nil means none was.
func (p *pipeline) Shutdown(ctx context.Context) error {
	p.once.Do(func() { p.err = p.shutdown(ctx) })
	return p.err
}

func (p *pipeline) shutdown(ctx context.Context) error {
	p.stopped.Store(true)
	// The batcher drains its queue through the exporter, then shuts the exporter down,
	// under the worker protocol: a margin before ctx's deadline its context is
	// cancelled, which aborts the export in flight (p.exp.abort) and makes the exporter
	// count what is left as dropped. An exporter that ignores cancellation keeps it
	// waiting, and Stop gives up on it at the deadline.
	stopErr := p.b.stop(ctx)
	stuck := uint64(0)
	if stopErr != nil && !errors.Is(stopErr, worker.ErrCutShort) {
		// The exporter ignored the cancellation: what it holds and what waits for it
		// is lost.
		stuck = uint64(max(p.waiting.Load()+p.exp.inFlight.Load(), 0))
	}
	loss := p.lossText(stuck)
	switch {
	case loss == "" && stopErr == nil:
		if e := p.exp.shutdownErr.Load(); e != nil && *e != nil {
			return fmt.Errorf("tracing: shutdown: %w", *e)
		}
		return nil
	case loss == "":
		return stopErr
	case stuck > 0:
		loss += "; the export was still running when Shutdown returned"
	}
	return &lossError{msg: loss, err: stopErr}
}

// lossText names the spans dropped, by cause, with the last export error; "" if none.
func (p *pipeline) lossText(stuck uint64) string {
	var total uint64
	var b strings.Builder
	for i := range p.causes {
		n := p.causes[i].Load()
		if i == dropDeadline {
			n += stuck
		}
		if n == 0 {
			continue
		}
		if total > 0 {
			b.WriteString(", ")
		}
		total += n
		fmt.Fprintf(&b, "%d %s", n, dropCauseText[i])
	}
	if total == 0 {
		return ""
	}
	spans := "spans"
	if total == 1 {
		spans = "span"
	}
	msg := fmt.Sprintf("tracing: %d %s dropped: %s", total, spans, b.String())
	if e := p.exp.lastErr.Load(); e != nil {
		msg += " (last error: " + p.exp.matcher.Text((*e).Error()) + ")"
	}
	return msg
}

// lossError is Shutdown's report of dropped spans; errors.Is still sees why the
// shutdown was cut short (context.DeadlineExceeded, say).
type lossError struct {
	msg string
	err error
}

func (e *lossError) Error() string { return e.msg }
func (e *lossError) Unwrap() error { return e.err }

// countingExporter wraps the real exporter: it counts failed and abandoned spans as
// dropped and logs failures once per outage instead of once per batch.
type countingExporter struct {
	next    sdktrace.SpanExporter
	p       *pipeline
	log     *slog.Logger
	matcher *scrub.Matcher // nil means the built-in names
	policy  spanPolicy     // matcher, with a memo of the shaped values it found clean

	abortCtx context.Context
	abort    context.CancelFunc

	shutdownErr atomic.Pointer[error] // what next.Shutdown returned

	failures atomic.Uint64
	inFlight atomic.Int64 // spans inside next.ExportSpans
	lastErr  atomic.Pointer[error]
	failing  atomic.Bool
}

func newCountingExporter(next sdktrace.SpanExporter, p *pipeline, log *slog.Logger, m *scrub.Matcher) *countingExporter {
	ctx, cancel := context.WithCancel(context.Background())
	return &countingExporter{
		next: next, p: p, log: log, matcher: m, abortCtx: ctx, abort: cancel,
		policy: spanPolicy{m: m, values: scrub.NewCleanValues(m)},
	}
}

// ExportSpans passes the batch on unless shutdown has abandoned exports. It returns nil
// even on failure: the failure is counted and logged here, and an error would only
// reach OpenTelemetry's process-wide error handler once per batch.
func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := uint64(len(spans))
	e.p.waiting.Add(-int64(n))
	if e.abortCtx.Err() != nil {
		e.p.drop(dropDeadline, n)
		return nil
	}
	spans = e.policy.redact(spans)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(e.abortCtx, cancel)
	e.inFlight.Add(int64(n))
	err := e.next.ExportSpans(ctx, spans)
	e.inFlight.Add(-int64(n))
	stop()
	cancel()
	if err != nil {
		lost := uint64(failedSpans(err, len(spans))) // a size-split batch may fail in part (batch.go)
		if e.abortCtx.Err() != nil {
			// Cancelled by Shutdown's deadline, perhaps while the exporter retried: the
			// spans count as unflushed; the error (often the retried one) is still news.
			e.p.drop(dropDeadline, lost)
		} else {
			e.p.drop(dropExport, lost)
		}
		aborted := e.abortCtx.Err() != nil &&
			(errors.Is(err, context.Canceled) || strings.HasSuffix(err.Error(), context.Canceled.Error()))
		if !aborted { // abort's own error says nothing about the collector
			e.lastErr.Store(&err)
		}
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

// Shutdown shuts the real exporter down and keeps its error for the pipeline's.
func (e *countingExporter) Shutdown(ctx context.Context) error {
	err := e.next.Shutdown(ctx)
	e.shutdownErr.Store(&err)
	return err
}

// redactSpans applies m's policy to spans (spanPolicy.redact), without a memo of clean
// values: for one-off calls (Provider.Redact).
func redactSpans(spans []sdktrace.ReadOnlySpan, m *scrub.Matcher) []sdktrace.ReadOnlySpan {
	return spanPolicy{m: m}.redact(spans)
}

// spanPolicy is the secret policy as the exporters apply it to spans.
type spanPolicy struct {
	m *scrub.Matcher
	// values, when set, answers m.Value from a bounded memo of the shaped values (with a
	// '?', a "://") already found clean: the text of a SQL statement with placeholders
	// is scanned as free text once, not on every span that carries it.
	values *scrub.CleanValues
}

// redact replaces the values of attributes named like secrets (user.password,
// auth.token, ...) on spans and their events, as logs and error events do, and scrubs
// the free text of exceptions (exception.message, exception.stacktrace) and of the
// status description, where panic and error text ("token=...", URLs with passwords)
// lands whoever recorded it, and every other string value for what a value carries by
// its shape (a URL's password, a JWT). It runs in the exporter's goroutine, and copies
// only the spans that need it.
func (p spanPolicy) redact(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	m := p.m
	var out []sdktrace.ReadOnlySpan
	for i, s := range spans {
		desc := s.Status().Description
		if !p.hasSecret(s.Attributes()) && !p.eventsHaveSecret(s.Events()) && m.Text(desc) == desc {
			continue
		}
		if out == nil {
			out = slices.Clone(spans)
		}
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.Attributes = p.redactAttrs(stub.Attributes)
		for j := range stub.Events {
			stub.Events[j].Attributes = p.redactAttrs(stub.Events[j].Attributes)
		}
		stub.Status.Description = m.Text(desc)
		out[i] = stub.Snapshot()
	}
	if out == nil {
		return spans
	}
	return out
}

func (p spanPolicy) eventsHaveSecret(evs []sdktrace.Event) bool {
	for _, e := range evs {
		if p.hasSecret(e.Attributes) {
			return true
		}
	}
	return false
}

func (p spanPolicy) hasSecret(kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if p.m.Sensitive(string(kv.Key)) {
			return true
		}
		if s, ok := stringValue(kv); ok && p.scrubValue(kv.Key, s) != s {
			return true
		}
	}
	return false
}

func (p spanPolicy) redactAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	out := slices.Clone(kvs)
	for i, kv := range out {
		if p.m.Sensitive(string(kv.Key)) {
			out[i] = attribute.String(string(kv.Key), scrub.Redacted)
		} else if s, ok := stringValue(kv); ok {
			out[i] = attribute.String(string(kv.Key), p.scrubValue(kv.Key, s))
		}
	}
	return out
}

// stringValue returns the value of a string attribute.
func stringValue(kv attribute.KeyValue) (string, bool) {
	if kv.Value.Type() == attribute.STRING {
		return kv.Value.AsString(), true
	}
	return "", false
}

// scrubValue applies the secret policy to a string attribute's value: exception text
// (exception.message, exception.stacktrace), where panic and error text lands, is
// scanned as free text; every other value for the secrets a value carries by its shape
// (a URL's password or secret parameters, a JWT).
func (p spanPolicy) scrubValue(key attribute.Key, s string) string {
	switch key {
	case "exception.message", "exception.stacktrace":
		return p.m.Text(s)
	}
	if p.values != nil {
		return p.values.Value(s)
	}
	return p.m.Value(s)
}
