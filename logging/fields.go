package logging

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// RenamePrefix is put in front of a user attribute's key when the key is one vigil
// writes itself on the line (see the package documentation): "level" becomes
// "attr.level", so neither the real level nor the user's value is lost.
const RenamePrefix = "attr."

// ECSVersion is the Elastic Common Schema version the "ecs" preset declares in
// ecs.version; every field it writes exists in it.
const ECSVersion = "8.11.0"

// preset identifies a field-naming convention (Config.Fields).
type preset uint8

const (
	presetVigil preset = iota
	presetOTel
	presetECS
	presetGCP
	presetDatadog
)

var presetNames = map[string]preset{
	"vigil": presetVigil, "otel": presetOTel, "ecs": presetECS, "gcp": presetGCP, "datadog": presetDatadog,
}

// ParseFields parses a field-naming preset: "vigil" (the default), "otel", "ecs", "gcp"
// (optionally "gcp:PROJECT_ID", which makes trace ids full Cloud Trace resource names)
// or "datadog". The preset name is matched in any case.
func ParseFields(s string) (string, error) {
	s = strings.TrimSpace(s)
	name, project, hasProject := strings.Cut(s, ":")
	name = strings.ToLower(name)
	p, ok := presetNames[name]
	if !ok || hasProject && p != presetGCP {
		return "vigil", errors.New("want vigil, otel, ecs, gcp, gcp:PROJECT_ID or datadog")
	}
	if hasProject {
		if project == "" || strings.ContainsAny(project, "/ \t\"\\") {
			return "vigil", errors.New("want gcp:PROJECT_ID with a Google Cloud project id")
		}
		return name + ":" + project, nil
	}
	return name, nil
}

// naming is what a preset writes: the keys, the level values and the form of the trace
// ids. Its byte strings are rendered once, when the handler is built, so writing a
// record costs the same whatever the preset.
type naming struct {
	preset  preset
	project string // gcp: the Cloud project of trace resource names

	timeKey, levelKey, msgKey string
	traceKey, spanKey         string
	flagsKey                  string // otel: trace_flags; gcp: trace_sampled
	sevNumKey                 string // otel: severity_number
	requestID                 string // the key the context's request_id takes ("" keeps it)

	// Source location: an object (srcKey with members) or three flat keys.
	srcKey                    string
	srcFunc, srcFile, srcLine string

	// Rendered pieces of the line.
	timeOpen, levelOpen, msgOpen      []byte // `"time":"`, `"level":`, `,"msg":`
	sevNumOpen                        []byte
	traceOpen, spanOpen, flagsOpen    []byte // `,"trace_id":"`, `","span_id":"`, `,"trace_flags":`
	srcOpen, srcFileOpen, srcLineOpen []byte
	srcClose                          []byte

	reserved []string // the top-level keys the handler writes
	resBloom uint64   // keyBit(k) set for every reserved key k
}

// newNaming builds the naming of fields (a ParseFields result or "") for a handler
// that writes the given service fields and, with addSource, the source location.
func newNaming(fields string, addSource bool) *naming {
	name, project, _ := strings.Cut(fields, ":")
	n := &naming{preset: presetNames[name], project: project}
	switch n.preset {
	case presetVigil:
		n.timeKey, n.levelKey, n.msgKey = "time", "level", "msg"
		n.traceKey, n.spanKey = "trace_id", "span_id"
		n.srcKey, n.srcFunc, n.srcFile, n.srcLine = slog.SourceKey, "function", "file", "line"
	case presetOTel:
		n.timeKey, n.levelKey, n.msgKey, n.sevNumKey = "timestamp", "severity_text", "body", "severity_number"
		n.traceKey, n.spanKey, n.flagsKey = "trace_id", "span_id", "trace_flags"
		n.srcFunc, n.srcFile, n.srcLine = "code.function.name", "code.file.path", "code.line.number"
	case presetECS:
		n.timeKey, n.levelKey, n.msgKey = "@timestamp", "log.level", "message"
		n.traceKey, n.spanKey, n.requestID = "trace.id", "span.id", "http.request.id"
		n.srcFunc, n.srcFile, n.srcLine = "log.origin.function", "log.origin.file.name", "log.origin.file.line"
	case presetGCP:
		n.timeKey, n.levelKey, n.msgKey = "time", "severity", "message"
		n.traceKey, n.spanKey, n.flagsKey = "logging.googleapis.com/trace", "logging.googleapis.com/spanId", "logging.googleapis.com/trace_sampled"
		n.srcKey, n.srcFunc, n.srcFile, n.srcLine = "logging.googleapis.com/sourceLocation", "function", "file", "line"
	case presetDatadog:
		n.timeKey, n.levelKey, n.msgKey = "timestamp", "status", "message"
		n.traceKey, n.spanKey = "dd.trace_id", "dd.span_id"
		n.srcFunc, n.srcFile, n.srcLine = "logger.method_name", "logger.file_name", "logger.line"
	}

	key := func(prefix, k, suffix string) []byte {
		b := append([]byte(prefix), appendString(nil, k)...)
		return append(append(b, ':'), suffix...)
	}
	n.timeOpen = key("", n.timeKey, `"`)
	n.levelOpen = key("", n.levelKey, "")
	n.msgOpen = key(",", n.msgKey, "")
	n.traceOpen = key(",", n.traceKey, `"`)
	if n.preset == presetGCP && project != "" {
		p := appendString(nil, "projects/"+project+"/traces/")
		n.traceOpen = append(n.traceOpen, p[1:len(p)-1]...)
	}
	n.spanOpen = key(`",`, n.spanKey, `"`)
	if n.flagsKey != "" {
		n.flagsOpen = key(",", n.flagsKey, "")
	}
	if n.sevNumKey != "" {
		n.sevNumOpen = key(",", n.sevNumKey, "")
	}
	if n.srcKey != "" {
		n.srcOpen = append(key(",", n.srcKey, "{"), key("", n.srcFunc, "")...)
		n.srcClose = []byte{'}'}
	} else {
		n.srcOpen = key(",", n.srcFunc, "")
	}
	n.srcFileOpen = key(",", n.srcFile, "")
	n.srcLineOpen = key(",", n.srcLine, "")

	n.reserve(n.timeKey, n.levelKey, n.msgKey, n.sevNumKey, n.traceKey, n.spanKey, n.flagsKey)
	if addSource {
		if n.srcKey != "" {
			n.reserve(n.srcKey)
		} else {
			n.reserve(n.srcFunc, n.srcFile, n.srcLine)
		}
	}
	return n
}

func (n *naming) reserve(keys ...string) {
	for _, k := range keys {
		if k != "" && !n.isReserved(k) {
			n.reserved = append(n.reserved, k)
			n.resBloom |= keyBit(k)
		}
	}
}

// isReserved reports whether k is a top-level key the handler writes itself.
func (n *naming) isReserved(k string) bool {
	if n.resBloom&keyBit(k) == 0 {
		return false
	}
	for _, r := range n.reserved {
		if r == k {
			return true
		}
	}
	return false
}

// serviceAttrs returns the service fields under the preset's names; the handler
// renders them once and reserves their top-level keys.
func (n *naming) serviceAttrs(service, version, environment string) []slog.Attr {
	var out []slog.Attr
	add := func(k, v string) {
		if v != "" {
			out = append(out, slog.String(k, v))
		}
	}
	switch n.preset {
	case presetVigil:
		add("service", service)
		add("service_version", version)
		add("environment", environment)
	case presetOTel:
		add("service.name", service)
		add("service.version", version)
		add("deployment.environment.name", environment)
	case presetECS:
		add("service.name", service)
		add("service.version", version)
		add("service.environment", environment)
		add("ecs.version", ECSVersion)
	case presetGCP:
		// Error Reporting groups errors by serviceContext.
		var sc []any
		if service != "" {
			sc = append(sc, slog.String("service", service))
		}
		if version != "" {
			sc = append(sc, slog.String("version", version))
		}
		if len(sc) > 0 {
			out = append(out, slog.Group("serviceContext", sc...))
		}
		add("environment", environment)
	case presetDatadog:
		add("service", service)
		add("version", version)
		add("env", environment)
	}
	for _, a := range out {
		n.reserve(a.Key)
	}
	return out
}

// appendLevel appends the level field, with the comma-less key first.
func (n *naming) appendLevel(buf []byte, l slog.Level) []byte {
	buf = append(buf, n.levelOpen...)
	switch n.preset {
	case presetVigil:
		return appendString(buf, l.String())
	case presetOTel:
		buf = appendString(buf, l.String())
		buf = append(buf, n.sevNumOpen...)
		// slog's levels are spaced as OpenTelemetry's severity numbers: INFO is 9.
		return strconv.AppendInt(buf, int64(min(max(int(l)+9, 1), 24)), 10)
	case presetECS:
		return appendString(buf, lowerLevel(l))
	default:
		return appendString(buf, n.levelValue(l))
	}
}

// levelValue is the level's value under the preset, as a string.
func (n *naming) levelValue(l slog.Level) string {
	switch n.preset {
	case presetECS:
		return lowerLevel(l)
	case presetGCP:
		// Cloud Logging's LogSeverity names.
		switch {
		case l < slog.LevelInfo:
			return "DEBUG"
		case l < slog.LevelWarn:
			return "INFO"
		case l < slog.LevelError:
			return "WARNING"
		case l < slog.LevelError+4:
			return "ERROR"
		}
		return "CRITICAL"
	case presetDatadog:
		// The values Datadog's status remapper knows.
		switch {
		case l < slog.LevelInfo:
			return "debug"
		case l < slog.LevelWarn:
			return "info"
		case l < slog.LevelError:
			return "warn"
		case l < slog.LevelError+4:
			return "error"
		}
		return "critical"
	}
	return l.String()
}

func lowerLevel(l slog.Level) string {
	switch l {
	case slog.LevelDebug:
		return "debug"
	case slog.LevelInfo:
		return "info"
	case slog.LevelWarn:
		return "warn"
	case slog.LevelError:
		return "error"
	}
	return strings.ToLower(l.String())
}

// appendTrace appends the trace correlation fields of sc.
func (n *naming) appendTrace(buf []byte, sc trace.SpanContext) []byte {
	buf = append(buf, n.traceOpen...)
	if n.preset == presetDatadog {
		// Datadog correlates logs by the low 64 bits of the trace id, in decimal.
		tid, sid := sc.TraceID(), sc.SpanID()
		buf = strconv.AppendUint(buf, binary.BigEndian.Uint64(tid[8:]), 10)
		buf = append(buf, n.spanOpen...)
		buf = strconv.AppendUint(buf, binary.BigEndian.Uint64(sid[:]), 10)
		return append(buf, '"')
	}
	buf = appendTraceID(buf, sc.TraceID())
	buf = append(buf, n.spanOpen...)
	buf = appendSpanID(buf, sc.SpanID())
	buf = append(buf, '"')
	switch n.preset {
	case presetOTel:
		buf = append(buf, n.flagsOpen...)
		buf = strconv.AppendUint(buf, uint64(sc.TraceFlags()), 10)
	case presetGCP:
		buf = append(buf, n.flagsOpen...)
		buf = strconv.AppendBool(buf, sc.IsSampled())
	}
	return buf
}

// traceAttrs returns the trace correlation fields of sc as attributes, with the same
// keys and values as appendTrace, for the handlers of the fan-out.
func (n *naming) traceAttrs(sc trace.SpanContext) []slog.Attr {
	tid, sid := sc.TraceID(), sc.SpanID()
	switch n.preset {
	case presetDatadog:
		return []slog.Attr{
			slog.String(n.traceKey, strconv.FormatUint(binary.BigEndian.Uint64(tid[8:]), 10)),
			slog.String(n.spanKey, strconv.FormatUint(binary.BigEndian.Uint64(sid[:]), 10)),
		}
	case presetOTel:
		return []slog.Attr{slog.String(n.traceKey, tid.String()), slog.String(n.spanKey, sid.String()),
			slog.Int(n.flagsKey, int(sc.TraceFlags()))}
	case presetGCP:
		t := tid.String()
		if n.project != "" {
			t = "projects/" + n.project + "/traces/" + t
		}
		return []slog.Attr{slog.String(n.traceKey, t), slog.String(n.spanKey, sid.String()),
			slog.Bool(n.flagsKey, sc.IsSampled())}
	}
	return []slog.Attr{slog.String(n.traceKey, tid.String()), slog.String(n.spanKey, sid.String())}
}

// appendSource appends the source location of pc.
func (n *naming) appendSource(buf []byte, pc uintptr) []byte {
	fs := runtime.CallersFrames([]uintptr{pc})
	f, _ := fs.Next()
	buf = append(buf, n.srcOpen...)
	buf = appendString(buf, f.Function)
	buf = append(buf, n.srcFileOpen...)
	buf = appendString(buf, f.File)
	buf = append(buf, n.srcLineOpen...)
	buf = strconv.AppendInt(buf, int64(f.Line), 10)
	return append(buf, n.srcClose...)
}
