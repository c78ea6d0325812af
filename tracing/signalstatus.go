package tracing

import (
	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// status is the exporter's last success and failure, its error text through m.
func (f *failureLog) status(name string, m *scrub.Matcher) ExportStatus {
	f.mu.Lock()
	okAt, errAt, err := f.okAt, f.errAt, f.lastErr
	f.mu.Unlock()
	st := ExportStatus{Name: name, LastOK: okAt, LastErrorTime: errAt}
	if err != nil {
		st.LastError = limits.Truncate(m.Text(err.Error()), 512)
	}
	return st
}

// ExportStatus reports each push exporter's (otlp, console) last export that
// succeeded and last that failed, its error text scrubbed of secrets. The prometheus
// exporter, which is scraped rather than pushed, is not listed. A disabled or nil
// provider reports nothing.
func (p *MeterProvider) ExportStatus() []ExportStatus {
	if p == nil {
		return nil
	}
	var out []ExportStatus
	for _, e := range p.pushers {
		out = append(out, e.fl.status(e.name, p.matcher))
	}
	return out
}

// ExportStatus reports each exporter's (otlp, console) last export that succeeded and
// last that failed, its error text scrubbed of secrets. Exports abandoned at Shutdown's
// deadline are counted in Dropped, not reported here. A nil provider, or one that
// exports nowhere, reports nothing.
func (p *LoggerProvider) ExportStatus() []ExportStatus {
	if p == nil {
		return nil
	}
	var out []ExportStatus
	for _, pl := range p.pipelines {
		out = append(out, pl.exp.fl.status(pl.exp.name, p.matcher))
	}
	return out
}
