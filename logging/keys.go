package logging

import (
	"context"
	"log/slog"

	"github.com/vigil-go/vigil/internal/ctxattrs"
)

// This file holds the key rule: every object of a line has each key once.
//
//   - The keys the handler writes itself (time, level, msg, the service fields, the trace
//     ids, source: see naming.reserved) are the line's; a user attribute at the top level
//     with one of them is kept as RenamePrefix+key.
//   - The context's attributes (WithAttrs: request_id, route, the application's own) come
//     next: a logger or record attribute with one of their keys is renamed the same way.
//   - Otherwise, when a key is given twice in one object (two context attributes, a
//     logger attribute and a record attribute, two members of a group), the last one
//     given wins, as ctxattrs.Lookup and most readers of JSON already do.
//
// The JSON handler renders records directly and only checks for repeated keys as it
// goes (keyBit); the first repeat sends the record to lineAttrs, which applies the rule
// with allocations. The text handler and the fan-out always use lineAttrs.

// keyBit is the bit of k in a 64-bit bloom of keys: a level of the line keeps one, so
// that a new key costs a comparison only when its bit is already taken.
func keyBit(k string) uint64 {
	if len(k) == 0 {
		return 1
	}
	// Fibonacci hashing of the first and last bytes and the length (written out again in
	// appendAttrChecked).
	h := uint64(k[0]) | uint64(k[len(k)-1])<<8 | uint64(len(k))<<16
	return 1 << (h * 0x9e3779b97f4a7c15 >> 58)
}

func bloomOf(keys []string) uint64 {
	var b uint64
	for _, k := range keys {
		b |= keyBit(k)
	}
	return b
}

// frame is one level of a derived handler: the group opened by WithGroup (none for the
// first frame) and the attributes WithAttrs added inside it.
type frame struct {
	group string
	attrs []slog.Attr
}

// withAttrs returns frames with attrs added to the innermost frame, sharing nothing
// mutable with frames.
func withAttrs(frames []frame, attrs []slog.Attr) []frame {
	out := append([]frame(nil), frames...)
	if len(out) == 0 {
		out = append(out, frame{})
	}
	last := &out[len(out)-1]
	last.attrs = append(last.attrs[:len(last.attrs):len(last.attrs)], attrs...)
	return out
}

func withGroup(frames []frame, name string) []frame {
	out := make([]frame, len(frames), len(frames)+1)
	copy(out, frames)
	if len(out) == 0 {
		out = append(out, frame{})
	}
	return append(out, frame{group: name})
}

// lineAttrs returns the attributes of a record that follow the handler's own fields,
// under the key rule: the context's attributes first, then the handler's and the
// record's, nested in the handler's groups; resolved, with inline groups spliced in,
// empty attributes and groups dropped, and each key once per object.
func lineAttrs(n *naming, ctx context.Context, frames []frame, r slog.Record) []slog.Attr {
	var out []slog.Attr
	if ctx != nil {
		for _, a := range ctxattrs.From(ctx) {
			out = flatten(out, a)
		}
	}
	for i := range out {
		if n.requestID != "" && out[i].Key == "request_id" {
			out[i].Key = n.requestID
		}
		if n.isReserved(out[i].Key) {
			out[i].Key = RenamePrefix + out[i].Key
		}
	}
	nctx := len(out)

	// The record's attributes, inside the innermost group, wrapped level by level.
	var inner []slog.Attr
	r.Attrs(func(a slog.Attr) bool { inner = append(inner, a); return true })
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		level := append(f.attrs[:len(f.attrs):len(f.attrs)], inner...)
		if i == 0 {
			inner = level
			break
		}
		inner = []slog.Attr{{Key: f.group, Value: slog.GroupValue(level...)}}
	}
	for _, a := range inner {
		out = flatten(out, a)
	}
	for i := nctx; i < len(out); i++ {
		if k := out[i].Key; n.isReserved(k) || hasKey(out[:nctx], k) {
			out[i].Key = RenamePrefix + k
		}
	}
	return lastWins(out)
}

// flatten appends a to out resolved, with an inline group's members spliced in and a
// group's members normalized; empty attributes and groups are left out.
func flatten(out []slog.Attr, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return out
	}
	if a.Value.Kind() != slog.KindGroup {
		return append(out, a)
	}
	g := a.Value.Group()
	if a.Key == "" {
		for _, ga := range g {
			out = flatten(out, ga)
		}
		return out
	}
	var members []slog.Attr
	for _, ga := range g {
		members = flatten(members, ga)
	}
	if members = lastWins(members); len(members) == 0 {
		return out
	}
	return append(out, slog.Attr{Key: a.Key, Value: slog.GroupValue(members...)})
}

// lastWins removes, in place, every attribute whose key a later one repeats.
func lastWins(attrs []slog.Attr) []slog.Attr {
	if len(attrs) > 32 {
		last := make(map[string]int, len(attrs))
		for i, a := range attrs {
			last[a.Key] = i
		}
		n := 0
		for i, a := range attrs {
			if last[a.Key] == i {
				attrs[n] = a
				n++
			}
		}
		return attrs[:n]
	}
	n := 0
	for i, a := range attrs {
		if !hasKey(attrs[i+1:], a.Key) {
			attrs[n] = a
			n++
		}
	}
	return attrs[:n]
}

func hasKey(attrs []slog.Attr, k string) bool {
	for _, a := range attrs {
		if a.Key == k {
			return true
		}
	}
	return false
}
