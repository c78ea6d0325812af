package tracing

import (
	"context"
	"log/slog"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/internal/exportstatus"
	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// tap is the span processor behind Config.OnEnd: it hands each sampled span that ends
// to a viewer in the process as the SDK's own immutable snapshot, copying nothing. The
// secret policy is applied when the viewer shows a span (Provider.Redact), not here:
// redacting every span as it ends would put the exporters' work on the request path a
// second time, for spans most of which nobody looks at.
type tap struct {
	fn      func(sdktrace.ReadOnlySpan)
	matcher *scrub.Matcher
	log     *slog.Logger
}

func (*tap) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (t *tap) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	defer func() {
		// A viewer's bug must not reach the code that ended the span.
		if x := recover(); x != nil {
			t.log.Error("vigil: tracing OnEnd panicked", slog.String("panic", safefmt.Text(x, t.matcher)))
		}
	}()
	t.fn(s)
}

// Redact returns s with the secret policy applied exactly as the exporters apply it
// (attributes named like secrets, secrets in values and exception text, the status
// description): s itself when nothing needs redacting, else a redacted copy. A viewer
// of the spans Config.OnEnd receives shows them through Redact.
func (p *Provider) Redact(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	if p == nil || s == nil {
		return s
	}
	one := [1]sdktrace.ReadOnlySpan{s}
	return redactSpans(one[:], p.matcher)[0]
}

func (*tap) ForceFlush(context.Context) error { return nil }
func (*tap) Shutdown(context.Context) error   { return nil }

// statusExporter remembers when its exporter last succeeded and failed, for
// Provider.ExportStatus. It sits below the size split, so it sees every request.
type statusExporter struct {
	next    sdktrace.SpanExporter
	matcher *scrub.Matcher
	status  exportstatus.Tracker
}

func (e *statusExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	if err != nil {
		e.status.Failed(time.Now(), e.matcher.Text(err.Error()))
	} else {
		e.status.OK(time.Now())
	}
	return err
}

func (e *statusExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// ExportStatus is the state of one span exporter.
type ExportStatus struct {
	Name          string // the exporter as configured: "otlp", "console", or a type name
	LastOK        time.Time
	LastError     string // scrubbed; "" when none
	LastErrorTime time.Time
}

// ExportStatus reports each exporter's last success and failure.
func (p *Provider) ExportStatus() []ExportStatus {
	if p == nil {
		return nil
	}
	out := make([]ExportStatus, 0, len(p.status))
	for i, e := range p.status {
		st := ExportStatus{Name: "exporter"}
		if i < len(p.exporters) {
			st.Name = p.exporters[i]
		}
		st.LastOK, st.LastError, st.LastErrorTime = e.status.Read()
		out = append(out, st)
	}
	return out
}
