package errors

import (
	"bytes"
	"encoding/json"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/safefmt"
	"github.com/vigil-go/vigil/internal/scrub"
)

// anyValue turns an attribute's value of unknown type into plain data for an event's
// contexts or a breadcrumb's data, through the one safe formatter: cycles cut, size
// bounded, user methods contained, sensitive keys redacted at any depth and secrets in
// text scrubbed. Maps and structs stay objects, so BeforeSend and Sentry see structure.
func anyValue(x any, m *scrub.Matcher) any {
	switch x := x.(type) {
	case nil:
		return nil
	case string:
		return safefmt.Text(x, m)
	case error:
		return safefmt.Text(x, m)
	}
	b := safefmt.AppendJSON(nil, x, m)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep integers exact
	var v any
	if dec.Decode(&v) != nil {
		return string(b) // cannot happen: AppendJSON writes valid JSON
	}
	return v
}

// text is safefmt.Text under the Reporter's policy.
func (r *Reporter) text(v any) string { return safefmt.Text(v, r.matcher) }

// scrubText applies the policy's free-text rules to the event's texts, whatever added
// them (vigil or a BeforeSend hook): exception values, the message, breadcrumb messages.
// A text built already scrubbed (see sending) is left as it is.
func (r *Reporter) scrubText(ev *sentry.Event, built *sending) {
	m := r.matcher
	if !built.clean(ev.Message) {
		ev.Message = m.Text(ev.Message)
	}
	for i := range ev.Exception {
		if v := ev.Exception[i].Value; !built.clean(v) {
			ev.Exception[i].Value = m.Text(v)
		}
	}
	for _, b := range ev.Breadcrumbs {
		if b != nil {
			b.Message = m.Text(b.Message)
		}
	}
}
