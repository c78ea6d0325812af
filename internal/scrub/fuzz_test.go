package scrub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzSensitive checks the name rule's invariants: the memo never changes a decision;
// case does not matter where it marks no word boundary; which separators split the words
// does not matter; a name sensitive by more than its whole self stays sensitive after
// more words in front; configured names match as words anywhere; an allowed name is
// never sensitive. Seeds: testdata/fuzz/FuzzSensitive.
func FuzzSensitive(f *testing.F) {
	for _, s := range []string{"Authorization", "X-Auth-Token", "x_csrf_token", "X-Amz-Security-Token",
		"db.password", "API-KEY", "apiKey", "pass word", "user", "", "ßession", "PaSsWoRd\x00",
		"max_tokens", "key", "XAuthToken"} {
		f.Add(s, "x")
	}
	m := New("tenant-id")
	f.Fuzz(func(t *testing.T, name, affix string) {
		got := m.Sensitive(name)
		if again := m.Sensitive(name); again != got {
			t.Fatalf("Sensitive(%q) changed from %v to %v (memo)", name, got, again)
		}
		if lo := strings.ToLower(name); lo == name && m.Sensitive(asciiUpper(name)) != got {
			t.Fatalf("Sensitive(%q) = %v but Sensitive(%q) = %v", name, got, asciiUpper(name), !got)
		}
		if sep := strings.NewReplacer("-", "_", ".", "_", " ", "_", "/", "__").Replace(name); m.Sensitive(sep) != got {
			t.Fatalf("Sensitive(%q) = %v but Sensitive(%q) = %v", name, got, sep, !got)
		}
		whole := wholeSet[string(normalize(nil, name))]
		if got && !whole && !m.Sensitive(affix+"_"+name) {
			t.Fatalf("%q is sensitive but %q is not", name, affix+"_"+name)
		}
		if !m.Sensitive(affix + "_tenant_id_" + affix) {
			t.Fatal("configured name lost")
		}
		if Default().Sensitive(name) && !got {
			t.Fatalf("%q: built-in rule lost with a configured name", name)
		}
		if Shared([]string{"tenant-id"}, []string{name}).Sensitive(name) {
			t.Fatalf("%q is allowed but sensitive", name)
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FuzzQuery checks Query, Form and URL: whatever the input, every parameter whose name
// is sensitive comes out as [REDACTED] when the result is parsed the way a server would,
// and a URL never keeps its password. Seeds: testdata/fuzz/FuzzQuery.
func FuzzQuery(f *testing.F) {
	f.Add("token=abc&page=2")
	f.Add("X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2F")
	f.Add("pass%77ord=hunter2&a=%zz")
	f.Add("password&password=&pass+word=x;y")
	m := Default()
	f.Fuzz(func(t *testing.T, q string) {
		for _, out := range []string{m.Query(q), m.Form(q)} {
			if out == Redacted {
				continue
			}
			for _, part := range strings.Split(out, "&") {
				k, v, has := strings.Cut(part, "=")
				name, err := url.QueryUnescape(k)
				if err != nil {
					t.Fatalf("Query(%q) = %q keeps an unparseable name %q", q, out, k)
				}
				if has && m.Sensitive(name) && v != Redacted {
					t.Fatalf("Query(%q) = %q: %s=%q not redacted", q, out, name, v)
				}
			}
		}
		u, err := url.Parse("https://user:s3cr3t-pw@host/p?" + q)
		if err != nil {
			return
		}
		out := m.URL(u)
		if strings.Contains(out, "s3cr3t-pw") {
			t.Fatalf("URL kept the password: %q", out)
		}
		// URL keeps [REDACTED] readable, which url.Parse refuses in userinfo: read the
		// query the way a server would, after '?' and before '#'.
		_, query, _ := strings.Cut(out, "?")
		query, _, _ = strings.Cut(query, "#")
		vals, err := url.ParseQuery(query)
		if err != nil {
			return // the server would reject it as well
		}
		for k, vs := range vals {
			for _, v := range vs {
				if m.Sensitive(k) && v != Redacted && v != "" {
					t.Fatalf("URL(%q) = %q: %s=%q not redacted", u, out, k, v)
				}
			}
		}
	})
}

// FuzzBody checks the JSON, form and header rules: valid JSON stays valid JSON with every
// member under a sensitive name redacted at any depth; anything that cannot be inspected
// is redacted whole; sensitive headers never keep their values. Seeds: testdata/fuzz/FuzzBody.
func FuzzBody(f *testing.F) {
	f.Add("application/json", []byte(`{"user":"a","password":"hunter2","nested":[{"api_key":1}]}`))
	f.Add("application/x-www-form-urlencoded", []byte("password=x&user=y"))
	f.Add("application/vnd.api+json; charset=utf-8", []byte(`{"p\u0061ssword":"x"}`))
	f.Add("text/plain", []byte("hello"))
	f.Add("application/octet-stream", []byte{0, 1, 2})
	f.Add("application/json", []byte(`[[[[[[[[[[{"token":"t"}]]]]]]]]]]`))
	f.Add("application/json", []byte(`{"a":1} {"token":2}`))
	m := Default()
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		out := m.Body(ct, body)
		if len(body) == 0 {
			if len(out) != 0 {
				t.Fatalf("empty body became %q", out)
			}
			return
		}
		js := m.JSON(body)
		if len(bytes.TrimSpace(body)) > 0 {
			// Valid JSON may hold numbers no float64 holds; decode them as json.Number.
			if !json.Valid(js) {
				t.Fatalf("JSON(%q) = %q, not JSON", body, js)
			}
			dec := json.NewDecoder(bytes.NewReader(js))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("JSON(%q) = %q: %v", body, js, err)
			}
			checkJSON(t, m, v, body)
			if json.Valid(body) && bytes.Equal(js, []byte(`"`+Redacted+`"`)) && !bytes.Contains(body, []byte(Redacted)) {
				t.Fatalf("valid JSON %q redacted whole", body)
			}
		}
		h := http.Header{ct: {string(body)}, "Authorization": {"Bearer x"}, "X-Csrf-Token": {"c"}}
		for k, vs := range m.Header(h) {
			if m.Sensitive(k) && (len(vs) != 1 || vs[0] != Redacted) {
				t.Fatalf("header %s kept %q", k, vs)
			}
		}
		if h.Get("Authorization") != "Bearer x" {
			t.Fatal("Header modified its input")
		}
	})
}

func checkJSON(t *testing.T, m *Matcher, v any, in []byte) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if m.Sensitive(k) {
				if e != Redacted {
					t.Fatalf("JSON(%q): member %q = %v, not redacted", in, k, e)
				}
				continue
			}
			checkJSON(t, m, e, in)
		}
	case []any:
		for _, e := range x {
			checkJSON(t, m, e, in)
		}
	}
}

// textTemplates plant a secret (the second %s) between a fuzzed prefix and suffix, each
// in a place Text must find it whatever surrounds it.
var textTemplates = []string{
	"%s token=%s%s",
	"%s?api_key=%s&x=1%s",
	"%s https://user:%s@host/x%s",
	"%s Authorization: Bearer %s%s",
	"%s password: %s%s",
	`%s{"client_secret":"%s"}%s`,
	"%s eyJhbGciOiJIUzI1NiJ9.eyJ%s.c2ln%s",
	"%s https://h/cb#access_token=%s&state=1%s",
	`%s "refresh_token": %s,%s`,
	"%s X-Auth-Key: %s%s",
	"%s Bearer %s%s",
	"%s https://%s@github.com/o/r%s",
	"%s map[db_password:%s user:ann]%s",
}

// FuzzText checks Text on any input: it never panics, it is idempotent, it returns its
// input unchanged when it changes nothing, and a secret planted in any of textTemplates
// never survives, whatever text comes before and after. Seeds: testdata/fuzz/FuzzText.
func FuzzText(f *testing.F) {
	f.Add("", "hunter2", "", uint8(0))
	f.Add(`Get "x`, "S3cr3t", `": EOF`, uint8(2))
	f.Add("a://x@", "tok", "&y", uint8(1))
	f.Add(`"`, "p", `"`, uint8(5))
	f.Add("token=", "Zz9", "\n", uint8(3))
	m := Default()
	f.Fuzz(func(t *testing.T, prefix, secret, suffix string, tmpl uint8) {
		for _, s := range []string{prefix, suffix} {
			out := m.Text(s)
			if again := m.Text(out); again != out {
				t.Fatalf("Text(%q) = %q, then %q: not idempotent", s, out, again)
			}
		}
		// The secret: letters and digits only, with a digit and an inner capital so that
		// it looks like a credential after "Bearer", and long enough to be unmistakable.
		var b strings.Builder
		b.WriteString("Zq9X")
		for _, c := range []byte(secret) {
			if isLetter(c) || isDigit(c) {
				b.WriteByte(c)
			}
		}
		for b.Len() < 10 {
			b.WriteByte('x')
		}
		planted := b.String()
		in := fmt.Sprintf(textTemplates[int(tmpl)%len(textTemplates)], prefix, planted, suffix)
		if strings.Count(in, planted) != 1 {
			return // the prefix or suffix repeats the secret: not planted by us alone
		}
		out := m.Text(in)
		if strings.Contains(out, planted) {
			t.Fatalf("Text(%q) = %q keeps the secret", in, out)
		}
		if again := m.Text(out); again != out {
			t.Fatalf("Text(%q) = %q, then %q: not idempotent", in, out, again)
		}
	})
}
