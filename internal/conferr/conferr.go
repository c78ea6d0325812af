// Package conferr is the one shape of a configuration error across vigil's parts: a list
// of problems, each naming the Config field it is about, so that observe can fold a
// part's problems into its own report and name the environment variable a value came
// from instead of the field it filled.
package conferr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Problem is one invalid value.
type Problem struct {
	// Field is the path within the part's Config ("StatsD.Addr", "RedactKeys[2]").
	Field string
	// Value is the value as it may be shown: secrets already masked by the part.
	Value string
	// Reason says what is wrong and what is wanted.
	Reason string
}

// Error lists every problem of one part's Config.
type Error struct {
	Part     string // "metrics", "tracing", ...
	Problems []Problem
}

// Error returns one line per problem: `part: Field="value": reason`.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %s=%s: %s", e.Part, p.Field, strconv.Quote(p.Value), p.Reason)
	}
	return b.String()
}

// Add records a problem; value is formatted with fmt.Sprint.
func (e *Error) Add(field string, value any, reason string) {
	s, ok := value.(string)
	if !ok {
		s = fmt.Sprint(value)
	}
	e.Problems = append(e.Problems, Problem{Field: field, Value: s, Reason: reason})
}

// Err returns e, or nil when it holds no problem.
func (e *Error) Err() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}

// Find returns every *Error inside err (through Unwrap and errors.Join), and whatever
// else err holds that is not one.
func Find(err error) (found []*Error, other []error) {
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		var ce *Error
		switch {
		case errors.As(err, &ce) && ce == err:
			found = append(found, ce)
		default:
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					walk(e)
				}
				return
			}
			if ce != nil {
				// Wrapped (fmt.Errorf("...: %w", ce)): the wrapper adds nothing a
				// problem list needs.
				found = append(found, ce)
				return
			}
			other = append(other, err)
		}
	}
	walk(err)
	return found, other
}
