package safefmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/scrub"
)

type panicErr struct{}

func (panicErr) Error() string { panic("boom") }

type panicStringer int

func (panicStringer) String() string { panic("boom") }

type panicJSON struct{ A int }

func (panicJSON) MarshalJSON() ([]byte, error) { panic("boom") }

type panicMarshalText struct{ A int }

func (panicMarshalText) MarshalText() ([]byte, error) { panic(errors.New("boom")) }

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

type secretJSON struct{}

func (secretJSON) MarshalJSON() ([]byte, error) {
	return []byte("{\n \"user\": \"ann\",\n \"password\": \"hunter2\"\n}"), nil
}

type ptrErr struct{ msg string }

func (e *ptrErr) Error() string { return e.msg }

type namedMap map[string]any

type level int

func (l level) String() string { return [...]string{"low", "high"}[l] }

type login struct {
	User     string `json:"user"`
	Password string `json:"pw"`
	Token    string `json:"-"`
	Note     string `json:"note,omitempty"`
	Count    int    `json:"count,string"`
	private  string
	Embedded
}

type Embedded struct {
	Region string
}

type node struct {
	Name string
	Next *node
}

func cyclicMap() map[string]any {
	m := map[string]any{"a": 1}
	m["self"] = m
	return m
}

func cyclicSlice() []any {
	s := []any{1, nil}
	s[1] = s
	return s
}

func cyclicStruct() *node {
	n := &node{Name: "n"}
	n.Next = n
	return n
}

func deep(n int) any {
	var v any = "leaf"
	for range n {
		v = []any{v}
	}
	return v
}

func TestAppendJSON(t *testing.T) {
	var nilErr *ptrErr
	hdr := http.Header{"Authorization": {"Bearer abc.def"}, "Accept": {"*/*"}}
	tests := []struct {
		name string
		v    any
		want string // exact output, or
		has  []string
		not  []string
	}{
		{name: "nil", v: nil, want: `null`},
		{name: "string", v: "hi\n", want: `"hi\n"`},
		{name: "int", v: 42, want: `42`},
		{name: "uint8", v: uint8(7), want: `7`},
		{name: "bool", v: true, want: `true`},
		{name: "NaN", v: math.NaN(), want: `"NaN"`},
		{name: "Inf in map", v: map[string]float32{"x": float32(math.Inf(-1))}, want: `{"x":"-Inf"}`},
		{name: "bytes", v: []byte("raw"), want: `"raw"`},
		{name: "duration", v: map[string]any{"d": 1500 * time.Millisecond}, want: `{"d":"1.5s"}`},
		{name: "time", v: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), want: `"2026-01-02T03:04:05Z"`},
		{name: "sorted keys", v: map[string]int{"b": 2, "a": 1, "c": 3}, want: `{"a":1,"b":2,"c":3}`},
		{name: "int keys", v: map[int]string{2: "b", 1: "a"}, want: `{"1":"a","2":"b"}`},
		{name: "nil pointer", v: (*node)(nil), want: `null`},
		{name: "nil map", v: map[string]any(nil), want: `null`},
		{name: "nil slice", v: []int(nil), want: `null`},
		{name: "nil in map", v: map[string]any{"p": (*node)(nil), "e": error(nil)}, want: `{"e":null,"p":null}`},
		{name: "typed nil error", v: error(nilErr), want: `"<nil>"`},
		{name: "typed nil error in map", v: map[string]error{"e": nilErr}, want: `{"e":null}`},
		{name: "error", v: errors.New("disk full"), want: `"disk full"`},
		{name: "error in struct", v: struct{ Err error }{errors.New("x")}, want: `{"Err":"x"}`},
		{name: "stringer enum", v: []level{0, 1}, want: `["low","high"]`},
		{name: "func", v: map[string]any{"f": func() {}}, want: `{"f":"func()"}`},
		{name: "cyclic map", v: cyclicMap(), want: `{"a":1,"self":"!CYCLE"}`},
		{name: "cyclic slice", v: cyclicSlice(), want: `[1,"!CYCLE"]`},
		{name: "cyclic struct pointer", v: cyclicStruct(), want: `{"Name":"n","Next":"!CYCLE"}`},
		{name: "cycle through a named map type", v: func() any { m := namedMap{"a": 1}; m["m"] = []any{m}; return m }(), want: `{"a":1,"m":["!CYCLE"]}`},
		{name: "cycle through a slice of maps", v: func() any { s := []map[string]any{{}}; s[0]["s"] = s; return s }(), want: `[{"s":"!CYCLE"}]`},
		{name: "shared not cyclic", v: func() any { x := []int{1}; return []any{x, x} }(), want: `[[1],[1]]`},
		{name: "deep", v: deep(100), has: []string{`"!DEPTH"`}},
		{name: "panicking Error", v: panicErr{}, want: `"!PANIC in Error: safefmt.panicErr: boom"`},
		{name: "panicking String", v: []panicStringer{1}, want: `["!PANIC in String: safefmt.panicStringer: boom"]`},
		{name: "panicking MarshalJSON", v: panicJSON{}, want: `"!PANIC in MarshalJSON: safefmt.panicJSON: boom"`},
		{name: "panicking MarshalText", v: panicMarshalText{}, want: `"!PANIC in MarshalText: safefmt.panicMarshalText"`},
		{name: "invalid MarshalJSON", v: badJSON{}, want: `"{\"a\":"`},
		{name: "MarshalJSON scrubbed", v: secretJSON{}, want: `{"user":"ann","password":"[REDACTED]"}`},
		{name: "header", v: hdr, want: `{"Accept":["*/*"],"Authorization":"[REDACTED]"}`},
		{name: "nested secret", v: map[string]any{"a": []any{map[string]any{"password": "p", "x": 1}}},
			want: `{"a":[{"password":"[REDACTED]","x":1}]}`},
		{name: "struct with tags", v: login{User: "ann", Password: "hunter2", Token: "t", Count: 3, private: "p", Embedded: Embedded{"eu"}},
			want: `{"user":"ann","pw":"[REDACTED]","count":"3","Region":"eu"}`},
		{name: "pointer to struct", v: &login{User: "ann", Note: "n"}, has: []string{`"note":"n"`, `"pw":"[REDACTED]"`}},
		{name: "url", v: &url.URL{Scheme: "https", User: url.UserPassword("u", "pw"), Host: "h", RawQuery: "api_key=K&x=1"},
			has: []string{"https://u:[REDACTED]@h", "x=1"}, not: []string{"pw@", "=K"}},
		{name: "url value", v: map[string]url.URL{"u": {Scheme: "http", Host: "h", RawQuery: "token=T"}}, not: []string{"=T"}},
		{name: "complex", v: complex(1, 2), want: `"(1+2i)"`},
		{name: "array", v: [2]bool{true, false}, want: `[true,false]`},
		{name: "struct key", v: map[struct{ A int }]int{{1}: 1}, want: `{"{\"A\":1}":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSON(nil, tt.v, nil))
			if !json.Valid([]byte(got)) {
				t.Fatalf("invalid JSON: %s", got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			for _, s := range tt.has {
				if !strings.Contains(got, s) {
					t.Errorf("%s: missing %q", got, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(got, s) {
					t.Errorf("%s: has %q", got, s)
				}
			}
		})
	}
}

func TestAppendJSONAppends(t *testing.T) {
	got := string(AppendJSON([]byte(`{"v":`), map[string]int{"a": 1}, nil))
	if got != `{"v":{"a":1}` {
		t.Errorf("got %s", got)
	}
}

func TestBounded(t *testing.T) {
	big := strings.Repeat("é", 1<<19) // 1 MiB
	many := map[string]string{}
	for i := range 10000 {
		many[fmt.Sprint(i)] = strings.Repeat("x", 100)
	}
	list := make([]string, 100000)
	tests := []struct {
		name string
		v    any
	}{
		{"1 MB string", big},
		{"1 MB error", errors.New(big)},
		{"1 MB bytes", []byte(big)},
		{"1 MB in a map", map[string]any{"a": big, "b": big}},
		{"big map", many},
		{"big slice", list},
		{"quotes", strings.Repeat(`"`, 1<<20)},
		{"controls", strings.Repeat("\x01", 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendJSON(nil, tt.v, nil)
			if !json.Valid(b) {
				t.Fatalf("invalid JSON: %.200s", b)
			}
			if len(b) > Limit+1024 {
				t.Errorf("%d bytes, want about %d", len(b), Limit)
			}
			if !strings.Contains(string(b), Truncated) && !strings.Contains(string(b), truncSuffix) {
				t.Errorf("no truncation marker: %.200s", b)
			}
			s := Text(tt.v, nil)
			if len(s) > Limit {
				t.Errorf("Text: %d bytes, want at most %d", len(s), Limit)
			}
		})
	}
}

func TestText(t *testing.T) {
	var nilErr *ptrErr
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "<nil>"},
		{"string", "plain", "plain"},
		{"int", 7, "7"},
		{"error", errors.New("bad"), "bad"},
		{"wrapped", fmt.Errorf("ctx: %w", errors.New("bad")), "ctx: bad"},
		{"typed nil error", error(nilErr), "<nil>"},
		{"stringer", level(1), "high"},
		{"panicking Error", panicErr{}, "!PANIC in Error: safefmt.panicErr: boom"},
		{"panicking String", panicStringer(0), "!PANIC in String: safefmt.panicStringer: boom"},
		{"runtime error panic", struct{ M map[string]int }{}, `{"M":null}`},
		{"cyclic map", cyclicMap(), `{"a":1,"self":"!CYCLE"}`},
		{"struct with password", login{User: "ann", Password: "hunter2"}, `{"user":"ann","pw":"[REDACTED]","count":"0","Region":""}`},
		{"time", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02 03:04:05 +0000 UTC"},
		{"url", &url.URL{Scheme: "https", User: url.UserPassword("u", "pw"), Host: "h"}, "https://u:[REDACTED]@h"},
		{"text marshaler", net4(), "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.v, nil); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func net4() any { return textIP("10.0.0.1") }

type textIP string

func (t textIP) MarshalText() ([]byte, error) { return []byte(t), nil }

// TestSecretsInText needs the Matcher's Text (internal/scrub) to find secrets in free
// text: it checks that every path through safefmt reaches it.
func TestSecretsInText(t *testing.T) {
	m := scrub.Shared([]string{"acct"}, nil)
	urlErr := &url.Error{Op: "Get", URL: "https://api.example.com/v1?api_key=SECRET1&q=1", Err: errors.New("timeout")}
	tests := []struct {
		name   string
		v      any
		secret string
	}{
		{"url.Error", urlErr, "SECRET1"},
		{"wrapped url.Error", fmt.Errorf("fetch: %w", urlErr), "SECRET1"},
		{"panic text", "token=SECRET2", "SECRET2"},
		{"bearer in error", errors.New("upstream said: Authorization: Bearer SECRET3xyzxyz"), "SECRET3"},
		{"configured key", map[string]string{"acct": "SECRET4"}, "SECRET4"},
		{"string in map", map[string]any{"msg": "token=SECRET5"}, "SECRET5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.v, m); strings.Contains(got, tt.secret) {
				t.Errorf("Text: %s", got)
			}
			got := AppendJSON(nil, map[string]any{"v": tt.v}, m)
			if strings.Contains(string(got), tt.secret) {
				t.Errorf("AppendJSON: %s", got)
			}
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	err := errors.New("connection refused")
	small := map[string]any{"a": 1, "b": "two", "c": []int{3}}
	for _, bc := range []struct {
		name string
		v    any
	}{{"string", "hello"}, {"error", err}, {"map", small}, {"struct", login{User: "ann"}}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendJSON(buf[:0], bc.v, nil)
			}
		})
	}
}
