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
// the safe formatter already (Capture's describe): the outermost value, not formatted
// twice. A lone error gets no mechanism unless the event is a panic (buildEvent's).
func (r *Reporter) exceptions(err error, msg string, panicked bool) []sentry.Exception {
	type link struct {
		parent int // index in out, -1 for the root
		source string
		group  bool
	}
	// The usual chain is short: built on the stack, copied out once at its length.
	var outBuf [4]sentry.Exception
	var linkBuf [4]link
	var seenBuf [8]error
	out, links, seen := outBuf[:0], linkBuf[:0], seenBuf[:0]
	var walk func(e error, parent int, source string, depth int)
	walk = func(e error, parent int, source string, depth int) {
		if e == nil || len(out) >= maxExceptions || depth > maxChainDepth {
			return
		}
		if isComparable(e) {
			// A cycle, or the same error reached twice: seen holds comparable errors only,
			// so == cannot panic.
			if slices.Contains(seen, e) {
				return
			}
			seen = append(seen, e)
		}
		id := len(out)
		_, group := e.(interface{ Unwrap() []error })
		value := msg
		if id > 0 {
			value = safefmt.Text(e, r.matcher)
		}
		ex := sentry.Exception{Type: reflect.TypeOf(e).String(), Value: value}
		if pcs := ownPCs(e); len(pcs) > 0 {
			ex.Stacktrace = &sentry.Stacktrace{Frames: slices.Clone(r.traces.get(pcs).frames)}
		}
		out = append(out, ex)
		links = append(links, link{parent: parent, source: source, group: group})
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for i, c := range u.Unwrap() {
				walk(c, id, fmt.Sprintf("errors[%d]", i), depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), id, "unwrap", depth+1)
		case interface{ Cause() error }:
			walk(u.Cause(), id, "cause", depth+1)
		}
	}
	walk(err, -1, "", 0)
	if len(out) > 1 || panicked {
		// One allocation for every mechanism; a parent id points at its parent's id.
		mechs := make([]sentry.Mechanism, len(out))
		for i, l := range links {
			m := &mechs[i]
			m.Type, m.ExceptionID, m.Source, m.IsExceptionGroup = "chained", i, l.source, l.group
			if l.parent < 0 {
				m.Type = "generic"
			} else {
				m.ParentID = &mechs[l.parent].ExceptionID
			}
			out[i].Mechanism = m
		}
	}
	slices.Reverse(out)
	return slices.Clone(out)
}

func isComparable(e error) bool {
	return reflect.TypeOf(e).Comparable()
}
