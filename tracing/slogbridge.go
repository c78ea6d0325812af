package tracing

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"

	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Handler returns a slog.Handler that emits every record it is enabled for as an
// OpenTelemetry log record, through the secret policy the stdout line goes through:
// attributes named like secrets are "[REDACTED]", secrets inside the message and text
// values are scrubbed, and other values are rendered by the one safe formatter. The
// trace and span ids come from the context the record was logged with (the SDK reads
// them), and the request-scoped attributes vigil stores in the context are added.
// Records below level are not emitted; a nil level means info.
func (p *LoggerProvider) Handler(level slog.Leveler) slog.Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	m := scrub.Shared(nil, nil)
	if p != nil {
		m = p.matcher
	}
	return &slogHandler{
		logger: p.LoggerProvider().Logger(ScopeName),
		level:  level,
		m:      m,
	}
}

type slogHandler struct {
	logger log.Logger
	level  slog.Leveler
	m      *scrub.Matcher
	attrs  []attribute.KeyValue // from WithAttrs, converted once
	prefix string               // open groups, "a.b."
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *slogHandler) Handle(ctx context.Context, r slog.Record) error {
	var rec log.Record
	rec.SetTimestamp(r.Time)
	rec.SetObservedTimestamp(time.Now())
	rec.SetSeverity(severity(r.Level))
	rec.SetSeverityText(r.Level.String())
	rec.SetBody(attribute.StringValue(h.m.Text(r.Message)))
	kvs := make([]attribute.KeyValue, 0, len(h.attrs)+r.NumAttrs()+2)
	for _, a := range ctxattrs.From(ctx) {
		kvs = h.appendAttr(kvs, "", a)
	}
	kvs = append(kvs, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		kvs = h.appendAttr(kvs, h.prefix, a)
		return true
	})
	rec.AddAttributes(kvs...)
	h.logger.Emit(ctx, rec)
	return nil
}

func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]attribute.KeyValue(nil), h.attrs...)
	for _, a := range as {
		c.attrs = h.appendAttr(c.attrs, h.prefix, a)
	}
	return &c
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

// severity maps slog's levels onto OpenTelemetry's: DEBUG 5, INFO 9, WARN 13, ERROR 17,
// and the levels between them in step.
func severity(l slog.Level) log.Severity {
	s := int(l) + int(log.SeverityInfo)
	return log.Severity(min(max(s, int(log.SeverityTrace1)), int(log.SeverityFatal4)))
}

// appendAttr adds a (a group's members under dotted names), redacted by name and with
// text values scrubbed.
func (h *slogHandler) appendAttr(kvs []attribute.KeyValue, prefix string, a slog.Attr) []attribute.KeyValue {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return kvs
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			kvs = h.appendAttr(kvs, p, g)
		}
		return kvs
	}
	key := prefix + a.Key
	if h.m.Sensitive(a.Key) || h.m.Sensitive(key) {
		return append(kvs, attribute.String(key, scrub.Redacted))
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		return append(kvs, attribute.String(key, h.m.Text(v.String())))
	case slog.KindInt64:
		return append(kvs, attribute.Int64(key, v.Int64()))
	case slog.KindUint64:
		return append(kvs, attribute.Int64(key, int64(min(v.Uint64(), 1<<63-1))))
	case slog.KindFloat64:
		return append(kvs, attribute.Float64(key, v.Float64()))
	case slog.KindBool:
		return append(kvs, attribute.Bool(key, v.Bool()))
	case slog.KindDuration:
		return append(kvs, attribute.String(key, v.Duration().String()))
	case slog.KindTime:
		return append(kvs, attribute.String(key, v.Time().Format(time.RFC3339Nano)))
	}
	return append(kvs, attribute.String(key, safefmt.Text(v.Any(), h.m)))
}
