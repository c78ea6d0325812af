package errors

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/safefmt"
)

// Bounds on the exception chain, so a cyclic or enormous error tree cannot grow an event.
const (
	maxChainDepth = 16
	maxExceptions = 32
)

// exceptions converts err's tree into Sentry's exception list: every error reachable
// through Unwrap() error, Unwrap() []error (errors.Join, fmt.Errorf with several %w) and
// Cause() error, linked by mechanism exception_id/parent_id so Sentry draws the chain
// and the groups. Sentry wants the outermost error last. msg is err's own text, through
// the safe formatter already (Capture's describe): the outermost value, not formatted twice.
func (r *Reporter) exceptions(err error, msg string) []sentry.Exception {
	var out []sentry.Exception
	seen := map[error]bool{}
	var walk func(e error, parent *int, source string, depth int)
	walk = func(e error, parent *int, source string, depth int) {
		if e == nil || len(out) >= maxExceptions || depth > maxChainDepth {
			return
		}
		if isComparable(e) {
			if seen[e] {
				return
			}
			seen[e] = true
		}
		id := len(out)
		_, group := e.(interface{ Unwrap() []error })
		value := msg
		if id > 0 {
			value = safefmt.Text(e, r.matcher)
		}
		ex := sentry.Exception{
			Type:  reflect.TypeOf(e).String(),
			Value: value,
			Mechanism: &sentry.Mechanism{
				Type:             "chained",
				ExceptionID:      id,
				ParentID:         parent,
				Source:           source,
				IsExceptionGroup: group,
			},
		}
		if parent == nil {
			ex.Mechanism.Type = "generic"
		}
		if pcs := ownPCs(e); len(pcs) > 0 {
			ex.Stacktrace = &sentry.Stacktrace{Frames: slices.Clone(r.traces.get(pcs).frames)}
		}
		out = append(out, ex)
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for i, c := range u.Unwrap() {
				walk(c, &id, fmt.Sprintf("errors[%d]", i), depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), &id, "unwrap", depth+1)
		case interface{ Cause() error }:
			walk(u.Cause(), &id, "cause", depth+1)
		}
	}
	walk(err, nil, "", 0)
	slices.Reverse(out)
	return out
}

func isComparable(e error) bool {
	return reflect.TypeOf(e).Comparable()
}
