package observe

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/internal/console"
	"github.com/vigil-go/vigil/internal/scrub"
)

// ConsoleConfig configures the dev console: a page at /debug/vigil/ that shows the
// process's recent errors (grouped, with stack, request and trace), traces (span
// trees), RED per route from the real metrics, log lines, and vigil's own state, one
// click apart, with nothing else to run.
//
// It is off by default. When on, Middleware serves it at /debug/vigil/ (and
// ConsoleHandler anywhere), to loopback clients only unless Token is set; it shows only
// what the secret policy let through to the exporters, and holds bounded rings (see
// the README for the figures). With it off, nothing is collected and the request path
// is exactly as without it.
type ConsoleConfig struct {
	// Enabled turns the console on (also VIGIL_CONSOLE=true).
	Enabled bool
	// Token, when set, is required of every client, loopback included: as the header
	// "Authorization: Bearer TOKEN", or once as ?token=TOKEN on the page, which sets an
	// HttpOnly, SameSite=Strict cookie. With a token, non-loopback clients are served.
	// Also VIGIL_CONSOLE_TOKEN.
	Token string
}

// Environment variables that fill ConsoleConfig (see the settings table).
const (
	EnvConsole      = "VIGIL_CONSOLE"
	EnvConsoleToken = "VIGIL_CONSOLE_TOKEN"
)

// ConsolePath is where Middleware serves the console when it is on.
const ConsolePath = console.Prefix

// consoleParts is an Observer's console, and the health report it shows.
type consoleParts struct {
	c      *console.Console
	h      http.Handler
	health atomic.Pointer[func() any]
}

// initConsole builds the console when it is on and hooks it into the parts' configs
// (the log writer, error events, ended spans) before they are built. in is the Config
// as given, to tell the sources of the effective values apart.
func (o *Observer) initConsole(in Config, env *envResult) {
	if !o.cfg.Console.Enabled || o.cfg.fixed {
		return
	}
	cp := &consoleParts{}
	cp.c = console.New(console.Options{
		// Read at request time: the registry is built after the console.
		Gatherer: prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			if o.registry == nil {
				return nil, nil
			}
			return o.Gatherer().Gather()
		}),
		Health: func() any {
			if f := cp.health.Load(); f != nil {
				return (*f)()
			}
			return map[string][]any{"checks": {}}
		},
		// Spans are held as they ended and redacted when shown, as on export.
		Redact:    func(sp sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan { return o.tracer.Redact(sp) },
		Config:    effectiveSettings(in, o.cfg, env),
		Exporters: o.exportStatus,
		Token:     o.cfg.Console.Token,
	})
	cp.h = cp.c.Handler()
	o.console = cp

	out := o.cfg.Logging.Output
	if out == nil {
		out = os.Stdout
	}
	o.cfg.Logging.Output = cp.c.LogWriter(out)
	o.cfg.Errors.OnEvent = chain(o.cfg.Errors.OnEvent, cp.c.Event)
	o.cfg.Errors.OnDuplicate = chain(o.cfg.Errors.OnDuplicate, cp.c.Duplicate)
	o.cfg.Tracing.OnEnd = chain(o.cfg.Tracing.OnEnd, cp.c.Span)
}

// chain calls a user's hook, then the console's.
func chain[T any](user, own func(T)) func(T) {
	if user == nil {
		return own
	}
	return func(v T) { user(v); own(v) }
}

// setConsoleHealth makes f the health report the console shows (observe/health.go).
func (o *Observer) setConsoleHealth(f func() any) {
	if o.console != nil && f != nil {
		o.console.health.Store(&f)
	}
}

// exportStatus lists the exporters' last success and failure for the console.
func (o *Observer) exportStatus() []console.Exporter {
	var out []console.Exporter
	if o.tracer != nil {
		for _, st := range o.tracer.ExportStatus() {
			out = append(out, console.Exporter{Name: "traces: " + st.Name, LastOK: st.LastOK, LastError: st.LastError, LastErrorTime: st.LastErrorTime})
		}
	}
	if st := o.reporter.Status(); st.Sending {
		out = append(out, console.Exporter{Name: "errors: sentry", LastOK: st.LastOK, LastError: st.LastError, LastErrorTime: st.LastErrorTime})
	}
	// Only configured backends report: StatsD, Pushgateway, Graphite; OpenTelemetry's
	// pushed metrics and logs (its prometheus exporter is scraped, not pushed).
	for _, st := range o.registry.ExportStatus() {
		out = append(out, console.Exporter{Name: "metrics: " + st.Name, LastOK: st.LastOK, LastError: st.LastError, LastErrorTime: st.LastErrorTime})
	}
	for _, st := range o.meter.ExportStatus() {
		out = append(out, console.Exporter{Name: "metrics (OpenTelemetry): " + st.Name, LastOK: st.LastOK, LastError: st.LastError, LastErrorTime: st.LastErrorTime})
	}
	for _, st := range o.logs.ExportStatus() {
		out = append(out, console.Exporter{Name: "logs (OpenTelemetry): " + st.Name, LastOK: st.LastOK, LastError: st.LastError, LastErrorTime: st.LastErrorTime})
	}
	return out
}

// withConsole serves the console's paths before h when the console is on; otherwise
// it returns h itself, so the request path does no extra work.
func (o *Observer) withConsole(h http.Handler) http.Handler {
	if o.console == nil {
		return h
	}
	ch := o.console.h
	base := strings.TrimSuffix(console.Prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Outside the telemetry: the console's own polling is neither traced, logged
		// nor counted.
		if p := r.URL.Path; strings.HasPrefix(p, base) && (len(p) == len(base) || p[len(base)] == '/') {
			ch.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ConsoleHandler serves o's dev console, for mounting elsewhere than /debug/vigil/
// (under another path, strip it with http.StripPrefix). With the console off it
// answers 404 with a JSON error that says how to turn it on.
func (o *Observer) ConsoleHandler() http.Handler {
	if o.console == nil {
		return consoleOff
	}
	return o.console.h
}

var consoleOff = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"error":"the vigil console is off: set VIGIL_CONSOLE=true or Config.Console.Enabled"}`+"\n")
})

// ConsoleHandler serves the default Observer's dev console, resolved at each request
// like Middleware (see Observer.ConsoleHandler).
func ConsoleHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Default().ConsoleHandler().ServeHTTP(w, r)
	})
}

// effectiveSettings lists every configuration field of the settings table once, with
// its value after resolution and where it came from: the Config field as given, the
// environment variable that filled it, or the default. Secret values are masked.
func effectiveSettings(in, eff Config, env *envResult) []console.Setting {
	var out []console.Setting
	seen := map[string]bool{}
	for i := range settings {
		s := &settings[i]
		if seen[s.Field] {
			continue
		}
		seen[s.Field] = true
		row := console.Setting{Name: s.Var, Field: s.Field}
		secret := s.Secret
		switch {
		case !fieldZero(&in, s.Field):
			row.Source = "field"
		case env.origin[s.Field] != nil:
			from := env.origin[s.Field]
			row.Source, row.Name, secret = "environment", from.Var, from.Secret
		default:
			row.Source = "default"
		}
		v := fieldValue(&eff, s.Field)
		switch {
		case v == "":
			v = strings.ReplaceAll(s.Default, "`", "")
		case secret && s.mask != nil && field(&eff, s.Field).Kind() == reflect.String:
			v = s.mask(v)
		case secret:
			v = scrub.Redacted
		}
		row.Value = v
		out = append(out, row)
	}
	return out
}

// field is the Config field that path names ("Metrics.StatsD.Addr").
func field(c *Config, path string) reflect.Value {
	v := reflect.ValueOf(c).Elem()
	for _, name := range strings.Split(path, ".") {
		v = v.FieldByName(name)
	}
	return v
}

func fieldZero(c *Config, path string) bool { return field(c, path).IsZero() }

// fieldValue renders a field's value as the README writes values; "" when it is zero.
func fieldValue(c *Config, path string) string {
	f := field(c, path)
	if f.IsZero() {
		return ""
	}
	v := f.Interface()
	switch x := v.(type) {
	case string:
		return x
	case time.Duration:
		if x < 0 {
			return "0 (off)"
		}
		return x.String()
	case []string:
		return strings.Join(x, ",")
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+x[k])
		}
		return strings.Join(parts, ",")
	case fmt.Stringer:
		return x.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}
