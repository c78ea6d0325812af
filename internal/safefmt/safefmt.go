// Package safefmt is the one way vigil turns a value from the host program into text:
// panic values, errors, and attribute values of log records, Sentry events and spans.
//
// fmt is not safe for that. It has no cycle detection, so a map that contains itself
// recurses until the goroutine's stack overflows, a fatal error that recover cannot stop;
// its output has no size bound; and it prints whatever a struct holds, passwords included.
// safefmt walks values itself (with reflect), and guarantees:
//
//   - termination: a map, slice or pointer met again on the current path is written as
//     "!CYCLE", nesting deeper than maxDepth as "!DEPTH";
//   - bounded output: about Limit bytes, cut at a UTF-8 boundary and marked;
//   - containment: a panicking Error, String, MarshalJSON or MarshalText method yields
//     "!PANIC in <method>: <type>" in place of the value, never a panic;
//   - the secret policy: the value under a sensitive map key or struct field becomes
//     "[REDACTED]" at any depth, URLs lose their passwords and secret query values, and
//     text is passed through the Matcher's Text (secrets inside free text).
package safefmt

import (
	"encoding"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-go/vigil/internal/jsonstr"
	"github.com/vigil-go/vigil/internal/limits"
	"github.com/vigil-go/vigil/internal/scrub"
)

// Limit bounds the output of Text, and of AppendJSON apart from the closing brackets and
// truncation markers of at most maxDepth levels.
const Limit = limits.Text

const (
	// maxDepth bounds nesting: deeper values are written as "!DEPTH".
	maxDepth = 32
	// sortLimit is the largest map whose keys are sorted. A larger one cannot fit in the
	// output anyway, and collecting its keys would cost memory in proportion to it.
	sortLimit = 4096
	// scanSlack is how much text past Limit Text lets the Matcher see, so a secret
	// straddling the cut is still recognized before the cut could hide its start.
	scanSlack = 512
)

// Markers written in place of values safefmt will not or cannot render.
const (
	Cycle     = "!CYCLE"
	Depth     = "!DEPTH"
	Truncated = "!TRUNCATED"
	// truncSuffix ends a string cut at the size bound.
	truncSuffix = limits.Ellipsis
)

// Text returns v as text: an error's Error(), a fmt.Stringer's String(), a string as is,
// numbers and booleans as strconv writes them, and any other value in the JSON form of
// AppendJSON. It is bounded by Limit and passed through m.Text, so secrets inside the
// text are redacted. A nil m means the default policy.
func Text(v any, m *scrub.Matcher) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return boundText(x, m)
	case error:
		return boundText(callString(x, x.Error, "Error"), m)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case time.Duration:
		return x.String()
	case *url.URL:
		return boundText(urlString(x, m), m)
	case url.URL:
		return boundText(urlString(&x, m), m)
	case interface{ String() string }:
		return boundText(callString(x, x.String, "String"), m)
	case []byte:
		return boundText(string(x), m)
	}
	// Leave room for the closing brackets, then cut hard: Text need not be valid JSON.
	e := encoder{m: m, limit: Limit - 1024}
	b := e.anyValue(nil, v, 0)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s // strings inside were scrubbed as they were written
		}
	}
	return limits.Truncate(string(b), Limit)
}

// boundText scrubs s and cuts it to Limit bytes.
func boundText(s string, m *scrub.Matcher) string {
	if len(s) > Limit+scanSlack {
		s = cut(s, Limit+scanSlack)
	}
	return limits.Truncate(m.Text(s), Limit)
}

// cut returns at most the first n bytes of s, ending at a UTF-8 boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// callString calls a user's Error or String method, turning a panic into a marker. Like
// fmt, a nil pointer receiver whose method panics is written as "<nil>".
func callString(recv any, f func() string, method string) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = panicText(recv, method, p)
		}
	}()
	return f()
}

// panicText describes a panic in a user's method. The panic value is included only when
// it is text already (a string or a runtime error): formatting anything else could panic
// or recurse in turn.
func panicText(recv any, method string, p any) string {
	if v := reflect.ValueOf(recv); v.Kind() == reflect.Pointer && v.IsNil() {
		return "<nil>"
	}
	s := "!PANIC in " + method + ": " + reflect.TypeOf(recv).String()
	switch x := p.(type) {
	case string:
		s += ": " + cut(x, 256)
	case interface{ RuntimeError() }:
		if e, ok := x.(error); ok {
			s += ": " + cut(callString(e, e.Error, "Error"), 256)
		}
	}
	return s
}

func urlString(u *url.URL, m *scrub.Matcher) string {
	if u == nil {
		return "<nil>"
	}
	return m.URL(u)
}

// AppendJSON appends v to dst as one JSON value, always valid and on one line. Maps
// become objects with sorted keys, structs objects of their exported fields (json tags
// honoured: names, "-", omitempty, omitzero), slices and arrays arrays, []byte a string,
// time.Time an RFC 3339 string, time.Duration its String form, NaN and infinities
// strings, URLs their scrubbed text, errors their Text. json.Marshaler, TextMarshaler
// and (for values without structure) fmt.Stringer are used as encoding/json and fmt
// would, with panics contained. A nil m means the default policy.
func AppendJSON(dst []byte, v any, m *scrub.Matcher) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendText(dst, x, m, Limit)
	case bool:
		return strconv.AppendBool(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		return appendFloat(dst, x, 64)
	case *jsonstr.Quoted:
		if x != nil {
			return append(dst, x.JSON()...)
		}
	case error:
		return appendText(dst, callString(x, x.Error, "Error"), m, Limit)
	}
	e := encoder{m: m, limit: len(dst) + Limit}
	return e.anyValue(dst, v, 0)
}

// anyValue writes the dynamic shapes most attributes have (decoded JSON, string maps)
// without reflect; everything else is walked by value.
func (e *encoder) anyValue(b []byte, x any, depth int) []byte {
	if depth > maxDepth {
		return jsonstr.Append(b, Depth)
	}
	switch x := x.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendText(b, x, e.m, e.room(b))
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendFloat(b, x, 64)
	case map[string]any:
		if x == nil {
			return append(b, "null"...)
		}
		v := reflect.ValueOf(x)
		if len(x) > sortLimit {
			break
		}
		if !e.enter(v) {
			return jsonstr.Append(b, Cycle)
		}
		b = e.mapAny(b, x, depth)
		e.leave()
		return b
	case []any:
		if x == nil {
			return append(b, "null"...)
		}
		v := reflect.ValueOf(x)
		if !e.enter(v) {
			return jsonstr.Append(b, Cycle)
		}
		b = append(b, '[')
		for i, el := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if e.full(b) {
				b = jsonstr.Append(b, Truncated)
				break
			}
			b = e.anyValue(b, el, depth+1)
		}
		e.leave()
		return append(b, ']')
	}
	return e.value(b, reflect.ValueOf(x), depth)
}

// mapAny is mapValue for map[string]any, with its keys sorted on the stack when few.
func (e *encoder) mapAny(b []byte, x map[string]any, depth int) []byte {
	var small [16]string
	keys := small[:0]
	for k := range x {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		var ok bool
		if b, ok = e.member(b, i == 0, k); !ok {
			break
		}
		if e.m.Sensitive(k) {
			b = jsonstr.Append(b, scrub.Redacted)
			continue
		}
		b = e.anyValue(b, x[k], depth+1)
	}
	return append(b, '}')
}

// appendText appends s, scrubbed and cut to at most limit bytes of JSON, as a string.
func appendText(dst []byte, s string, m *scrub.Matcher, limit int) []byte {
	if len(s) > limit+scanSlack {
		s = cut(s, limit+scanSlack)
	}
	return appendString(dst, m.Text(s), limit)
}

// appendString appends s as a JSON string of at most about limit bytes, escapes included.
func appendString(dst []byte, s string, limit int) []byte {
	if limit < len(truncSuffix)+8 {
		limit = len(truncSuffix) + 8
	}
	if len(s)+2 <= limit {
		out := jsonstr.Append(dst, s)
		if len(out)-len(dst) <= limit {
			return out
		}
	}
	// Escapes can make a string six times longer: shrink until it fits.
	n := limit - len(truncSuffix) - 2
	for {
		out := jsonstr.Append(dst, cut(s, n)+truncSuffix)
		if len(out)-len(dst) <= limit || n == 0 {
			return out
		}
		n /= 2
	}
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		// JSON has no NaN or Inf.
		return jsonstr.Append(dst, strconv.FormatFloat(f, 'g', -1, bits))
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// visit identifies a map, slice or pointer on the path being written.
type visit struct {
	ptr uintptr
	typ reflect.Type
	n   int // a slice's length: s and s[:1] share a pointer
}

// encoder writes one value. limit is the length of the output buffer at which writing
// stops; path holds the references entered, for cycle detection.
type encoder struct {
	m     *scrub.Matcher
	limit int
	path  [maxDepth + 1]visit
	npath int
}

func (e *encoder) full(b []byte) bool { return len(b) >= e.limit }

// room is how many bytes a string may take at this point, at least a little so a
// truncated value still says something.
func (e *encoder) room(b []byte) int { return max(e.limit-len(b), 64) }

func (e *encoder) enter(v reflect.Value) bool {
	vi := visit{ptr: v.Pointer(), typ: v.Type()}
	if v.Kind() == reflect.Slice {
		vi.n = v.Len()
	}
	for _, p := range e.path[:e.npath] {
		if p == vi {
			return false
		}
	}
	e.path[e.npath] = vi
	e.npath++
	return true
}

func (e *encoder) leave() { e.npath-- }

var (
	errorType         = reflect.TypeFor[error]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	stringerType      = reflect.TypeFor[interface{ String() string }]()
	timeType          = reflect.TypeFor[time.Time]()
	durationType      = reflect.TypeFor[time.Duration]()
	urlType           = reflect.TypeFor[url.URL]()
)

func (e *encoder) value(b []byte, v reflect.Value, depth int) []byte {
	if !v.IsValid() {
		return append(b, "null"...)
	}
	if depth > maxDepth {
		return jsonstr.Append(b, Depth)
	}
	if b2, ok := e.special(b, v); ok {
		return b2
	}
	switch v.Kind() {
	case reflect.String:
		return appendText(b, v.String(), e.m, e.room(b))
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(b, v.Uint(), 10)
	case reflect.Float32:
		return appendFloat(b, v.Float(), 32)
	case reflect.Float64:
		return appendFloat(b, v.Float(), 64)
	case reflect.Complex64, reflect.Complex128:
		return jsonstr.Append(b, strconv.FormatComplex(v.Complex(), 'g', -1, 128))
	case reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if v.CanInterface() {
			return e.anyValue(b, v.Interface(), depth+1)
		}
		return e.value(b, v.Elem(), depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if !e.enter(v) {
			return jsonstr.Append(b, Cycle)
		}
		b = e.value(b, v.Elem(), depth+1)
		e.leave()
		return b
	case reflect.Map:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if !e.enter(v) {
			return jsonstr.Append(b, Cycle)
		}
		b = e.mapValue(b, v, depth)
		e.leave()
		return b
	case reflect.Slice:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Type().Elem().PkgPath() == "" {
			return appendText(b, string(v.Bytes()), e.m, e.room(b))
		}
		if !e.enter(v) {
			return jsonstr.Append(b, Cycle)
		}
		b = e.array(b, v, depth)
		e.leave()
		return b
	case reflect.Array:
		return e.array(b, v, depth)
	case reflect.Struct:
		return e.structValue(b, v, depth)
	}
	// Channels, functions, unsafe pointers: their type says all there is to say.
	return jsonstr.Append(b, v.Type().String())
}

// special handles types with a meaning of their own, and the user's methods.
func (e *encoder) special(b []byte, v reflect.Value) ([]byte, bool) {
	t := v.Type()
	k := kindOf(t)
	if k == plain || !v.CanInterface() {
		return b, false
	}
	if t.Kind() == reflect.Pointer && v.IsNil() {
		// A nil pointer is null, as encoding/json writes it; its methods are not called.
		return append(b, "null"...), true
	}
	switch k {
	case isTime:
		return jsonstr.Append(b, v.Interface().(time.Time).Format(time.RFC3339Nano)), true
	case isDuration:
		return jsonstr.Append(b, time.Duration(v.Int()).String()), true
	case isURL:
		u := v.Interface().(url.URL)
		return appendString(b, e.m.URL(&u), e.room(b)), true
	case isURLPtr:
		return appendString(b, e.m.URL(v.Interface().(*url.URL)), e.room(b)), true
	case isError:
		x := v.Interface().(error)
		return appendText(b, callString(x, x.Error, "Error"), e.m, e.room(b)), true
	case isMarshaler:
		return e.marshalJSON(b, v.Interface().(json.Marshaler)), true
	case isTextMarshaler:
		return e.marshalText(b, v.Interface().(encoding.TextMarshaler)), true
	case isStringer:
		x := v.Interface().(interface{ String() string })
		return appendText(b, callString(x, x.String, "String"), e.m, e.room(b)), true
	}
	return b, false
}

// How values of a type are written when they are not walked by kind.
const (
	plain = iota
	isTime
	isDuration
	isURL
	isURLPtr
	isError
	isMarshaler
	isTextMarshaler
	isStringer
)

var kindCache sync.Map // reflect.Type -> int

// kindOf classifies t once: Implements is too slow to ask for every value.
func kindOf(t reflect.Type) int {
	if k, ok := kindCache.Load(t); ok {
		return k.(int)
	}
	k := plain
	switch {
	case t == timeType:
		k = isTime
	case t == durationType:
		k = isDuration
	case t == urlType:
		k = isURL
	case t.Kind() == reflect.Pointer && t.Elem() == urlType:
		k = isURLPtr
	case t.Kind() == reflect.Interface:
	case t.Implements(errorType):
		k = isError
	case t.Implements(marshalerType):
		k = isMarshaler
	case t.Implements(textMarshalerType):
		k = isTextMarshaler
	case t.Implements(stringerType) && !structured(t):
		k = isStringer
	}
	kindCache.Store(t, k)
	return k
}

// structured reports whether values of t have members that the walk can redact one by
// one. For them a String method is not used: it could print a secret field whole.
func structured(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array, reflect.Interface:
		return true
	}
	return false
}

func (e *encoder) marshalJSON(b []byte, x json.Marshaler) []byte {
	out, p, err := callBytes(x, x.MarshalJSON)
	switch {
	case p != nil:
		return appendText(b, panicText(x, "MarshalJSON", p), e.m, e.room(b))
	case err != nil:
		return appendText(b, "!ERROR in MarshalJSON: "+callString(err, err.Error, "Error"), e.m, e.room(b))
	case len(out) > 4*Limit:
		// Too large to inspect cheaply, and a cut JSON text is not JSON.
		return jsonstr.Append(b, Truncated+": MarshalJSON wrote "+strconv.Itoa(len(out))+" bytes")
	case !json.Valid(out):
		return appendText(b, string(out), e.m, e.room(b))
	}
	// The result cannot be walked, so the policy is applied to its text instead. That
	// also makes it compact (one line).
	out = e.m.JSON(out)
	if len(b)+len(out) > e.limit {
		return appendText(b, string(out), e.m, e.room(b))
	}
	return append(b, out...)
}

func (e *encoder) marshalText(b []byte, x encoding.TextMarshaler) []byte {
	out, p, err := callBytes(x, x.MarshalText)
	switch {
	case p != nil:
		return appendText(b, panicText(x, "MarshalText", p), e.m, e.room(b))
	case err != nil:
		return appendText(b, "!ERROR in MarshalText: "+callString(err, err.Error, "Error"), e.m, e.room(b))
	}
	return appendText(b, string(out), e.m, e.room(b))
}

// callBytes calls MarshalJSON or MarshalText; a panic's value is returned as p.
func callBytes(recv any, f func() ([]byte, error)) (out []byte, p any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err, p = nil, nil, r
		}
	}()
	out, err = f()
	return out, nil, err
}

func (e *encoder) array(b []byte, v reflect.Value, depth int) []byte {
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		if e.full(b) {
			b = jsonstr.Append(b, Truncated)
			break
		}
		b = e.value(b, v.Index(i), depth+1)
	}
	return append(b, ']')
}

// member appends the separator and the key of an object member, or, once the output is
// full, the truncation member; it reports whether the value should follow.
func (e *encoder) member(b []byte, first bool, key string) ([]byte, bool) {
	if !first {
		b = append(b, ',')
	}
	if e.full(b) {
		return append(b, `"`+Truncated+`":true`...), false
	}
	b = appendString(b, key, e.room(b))
	return append(b, ':'), true
}

type entry struct {
	key string
	val reflect.Value
}

func (e *encoder) mapValue(b []byte, v reflect.Value, depth int) []byte {
	b = append(b, '{')
	if v.Len() > sortLimit {
		// Too large to fit: written unsorted until the bound.
		it := v.MapRange()
		first := true
		for it.Next() {
			k := e.key(it.Key(), depth)
			var ok bool
			if b, ok = e.member(b, first, k); !ok {
				break
			}
			first = false
			b = e.memberValue(b, k, it.Value(), depth)
		}
		return append(b, '}')
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		entries = append(entries, entry{e.key(it.Key(), depth), it.Value()})
	}
	sortEntries(entries)
	for i, en := range entries {
		var ok bool
		if b, ok = e.member(b, i == 0, en.key); !ok {
			break
		}
		b = e.memberValue(b, en.key, en.val, depth)
	}
	return append(b, '}')
}

func (e *encoder) memberValue(b []byte, k string, val reflect.Value, depth int) []byte {
	if e.m.Sensitive(k) {
		return jsonstr.Append(b, scrub.Redacted)
	}
	return e.value(b, val, depth+1)
}

// key renders a map key as text: strings as they are, numbers in decimal, TextMarshalers
// by their text, anything else by its (bounded) JSON form.
func (e *encoder) key(k reflect.Value, depth int) string {
	switch k.Kind() {
	case reflect.String:
		if !k.CanInterface() || !k.Type().Implements(textMarshalerType) {
			return k.String()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10)
	}
	sub := encoder{m: e.m, limit: 256, path: e.path, npath: e.npath}
	out := sub.value(nil, k, depth+1)
	if len(out) > 0 && out[0] == '"' {
		var s string
		if json.Unmarshal(out, &s) == nil {
			return s
		}
	}
	return string(out)
}

func (e *encoder) structValue(b []byte, v reflect.Value, depth int) []byte {
	b = append(b, '{')
	first := true
	for _, f := range fieldsOf(v.Type()) {
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue // behind a nil embedded pointer
		}
		if (f.omitEmpty && isEmpty(fv)) || (f.omitZero && fv.IsZero()) {
			continue
		}
		if b, ok = e.member(b, first, f.name); !ok {
			break
		}
		first = false
		if e.m.Sensitive(f.name) || e.m.Sensitive(f.goName) {
			b = jsonstr.Append(b, scrub.Redacted)
			continue
		}
		mark := len(b)
		b = e.value(b, fv, depth+1)
		if f.quoted && len(b) > mark && b[mark] != '"' && b[mark] != '{' && b[mark] != '[' && string(b[mark:]) != "null" {
			// The ",string" option: scalars are written inside a string.
			s := string(b[mark:])
			b = jsonstr.Append(b[:mark], s)
		}
	}
	return append(b, '}')
}

func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return reflect.Value{}, false
				}
				v = v.Elem()
			}
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
