package tracing

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel/propagation"
)

// DefaultPropagators is the propagator list in force when neither
// Config.Propagators nor OTEL_PROPAGATORS says otherwise, as the specification gives it.
const DefaultPropagators = "tracecontext,baggage"

// propagatorNames are the OTEL_PROPAGATORS values, in the specification's spelling.
var propagatorNames = []string{"tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace", "none"}

// ParsePropagators builds the propagator a comma-separated OTEL_PROPAGATORS list names:
// tracecontext, baggage, b3 (single header), b3multi, jaeger, xray, ottrace, or none
// alone. "" means DefaultPropagators. Every listed format is extracted, the first
// that finds a trace context winning in list order, and all are injected. The error
// names the unknown entry and what is wanted.
func ParsePropagators(v string) (propagation.TextMapPropagator, error) {
	names, err := propagatorList(v)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return propagation.NewCompositeTextMapPropagator(), nil
	}
	// autoprop maps the names to the contrib propagators; the names were checked
	// above, so its error (an unknown name) cannot happen.
	p, err := autoprop.TextMapPropagator(names...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// propagatorList validates and deduplicates a list; none yields an empty list.
func propagatorList(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		v = DefaultPropagators
	}
	var out []string
	none := false
	for _, item := range strings.Split(v, ",") {
		name := strings.ToLower(strings.TrimSpace(item))
		switch {
		case name == "":
			continue
		case name == "none":
			none = true
		case !knownPropagator(name):
			return nil, fmt.Errorf("unknown propagator %q: want %s", name, strings.Join(propagatorNames, ", "))
		default:
			out = appendOnce(out, name)
		}
	}
	if none && len(out) > 0 {
		return nil, errors.New("none cannot be combined with other propagators")
	}
	return out, nil
}

func knownPropagator(name string) bool {
	for _, n := range propagatorNames {
		if n == name && n != "none" {
			return true
		}
	}
	return false
}
