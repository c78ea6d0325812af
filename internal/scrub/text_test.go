package scrub

import (
	"net/url"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	tests := []struct{ in, want string }{
		// URLs.
		{`Get "https://bob:hunter2@api.example.com/v1?api_key=X&x=1": dial tcp: connection refused`,
			`Get "https://bob:[REDACTED]@api.example.com/v1?api_key=[REDACTED]&x=1": dial tcp: connection refused`},
		{"postgres://app:pa#ss@db:5432/orders?sslmode=disable", "postgres://app:[REDACTED]@db:5432/orders?sslmode=disable"},
		{"clone https://ghp_abc123@github.com/o/r.git failed", "clone https://[REDACTED]@github.com/o/r.git failed"},
		{"redirect to https://app/cb#access_token=abc&token_type=bearer&state=1",
			"redirect to https://app/cb#access_token=[REDACTED]&token_type=bearer&state=1"},
		{"https://maps.example.com/api?key=AIzaXYZ&q=paris", "https://maps.example.com/api?key=[REDACTED]&q=paris"},
		{"https://app/cb?code=4/0Adeu5&state=xyz", "https://app/cb?code=[REDACTED]&state=xyz"},
		{"https://s3/b/o?X-Amz-Signature=abc&X-Amz-Date=1", "https://s3/b/o?X-Amz-Signature=[REDACTED]&X-Amz-Date=1"},
		{"https://example.com?email=a@b.com", "https://example.com?email=a@b.com"},
		{"see https://example.com/docs#section-2.", "see https://example.com/docs#section-2."},
		{"https://user:@host/", "https://user:@host/"},
		{"https://medium.com/@user/post", "https://medium.com/@user/post"},
		{"https://host:8080/@user/post", "https://host:8080/@user/post"},
		{`parse "https://u:p/ss@h/x": invalid port`, `parse "https://u:[REDACTED]@h/x": invalid port`},
		{"https://[::1]:80/a@b", "https://[::1]:80/a@b"},
		// key=value and key: value.
		{"token=abc", "token=[REDACTED]"},
		{"refresh failed: refresh_token=abc def", "refresh failed: refresh_token=[REDACTED] def"},
		{"login: password: hunter2", "login: password: [REDACTED]"},
		{"Authorization: Bearer xyz", "Authorization: Bearer [REDACTED]"},
		{"Authorization=Bearer xyz123 next", "Authorization=Bearer [REDACTED] next"},
		{"Cookie: a=1; b=2\nnext: line", "Cookie: [REDACTED]\nnext: line"},
		{`{"user":"ann","password":"hun\"ter2","n":1}`, `{"user":"ann","password":"[REDACTED]","n":1}`},
		{`{"pin": 1234, "n": 1}`, `{"pin": "[REDACTED]", "n": 1}`},
		{`body "{\"api_key\":\"k1\"}"`, `body "{\"api_key\":\"[REDACTED]\"}"`},
		{"map[password:hunter2 user:ann]", "map[password:[REDACTED] user:ann]"},
		{"{Password:hunter2 User:ann}", "{Password:[REDACTED] User:ann}"},
		{"X-Auth-Key: k1 ", "X-Auth-Key: [REDACTED]"},
		{"secret = 's3'", "secret = '[REDACTED]'"},
		{"db.password=x,y", "db.password=[REDACTED],y"},
		{"map[Authorization:[Bearer xyz] Cookie:[a=1; b=2] Accept:[*/*]]", "map[Authorization:[[REDACTED]] Cookie:[[REDACTED]] Accept:[*/*]]"},
		{`{"Authorization": ["Bearer x"], "n": 1}`, `{"Authorization": "[REDACTED]", "n": 1}`},
		{"bad password: hunter2 for ann", "bad password: [REDACTED] for ann"},
		{"sent with Authorization: Bearer abc", "sent with Authorization: Bearer [REDACTED]"},
		// After other words, "token: ..." is how Go chains errors: keep the cause.
		{"oauth2: cannot fetch token: 401 Unauthorized", "oauth2: cannot fetch token: 401 Unauthorized"},
		{"load session: context deadline exceeded", "load session: context deadline exceeded"},
		{"login: session: s3ss10n-id", "login: session: [REDACTED]"},
		{`"GET /maps?key=AIza&code=c1&q=x HTTP/1.1"`, `"GET /maps?key=[REDACTED]&code=[REDACTED]&q=x HTTP/1.1"`},
		// Not secrets.
		{"exit code: 2", "exit code: 2"},
		{"exit code=2 key=k", "exit code=2 key=k"},
		{"status_code=500 max_tokens=20 token_type=bearer", "status_code=500 max_tokens=20 token_type=bearer"},
		{"key: not a whole name in text", "key: not a whole name in text"},
		{"dial tcp 10.0.0.1:443: i/o timeout", "dial tcp 10.0.0.1:443: i/o timeout"},
		{"at 12:30:45 user=ann", "at 12:30:45 user=ann"},
		// Bearer and Basic.
		{"sent Bearer abc.def-123 upstream", "sent Bearer [REDACTED] upstream"},
		{"header basic dXNlcjpwYXNz", "header basic [REDACTED]"},
		{"bearer token missing", "bearer token missing"},
		{"Basic Authentication failed", "Basic Authentication failed"},
		{"basic validation failed", "basic validation failed"},
		// JWTs.
		{"bad jwt " + jwt + " given", "bad jwt [REDACTED] given"},
		{"(" + jwt + ")", "([REDACTED])"},
		{"eyJhbGciOi alone", "eyJhbGciOi alone"},
		{"xeyJhbGciOiJIUzI1NiJ9.eyJ.x", "xeyJhbGciOiJIUzI1NiJ9.eyJ.x"},
		// Already redacted text stays as it is.
		{"token=[REDACTED] Bearer [REDACTED] https://u:[REDACTED]@h", "token=[REDACTED] Bearer [REDACTED] https://u:[REDACTED]@h"},
		{"", ""},
		{"plain message without secrets", "plain message without secrets"},
	}
	m := New()
	for _, tc := range tests {
		got := m.Text(tc.in)
		if got != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if again := m.Text(got); again != got {
			t.Errorf("Text not idempotent on %q: %q", got, again)
		}
		if nilGot := (*Matcher)(nil).Text(tc.in); nilGot != got {
			t.Errorf("nil Matcher Text(%q) = %q, want %q", tc.in, nilGot, got)
		}
	}
}

func TestTextConfigured(t *testing.T) {
	m := Shared([]string{"ssn"}, []string{"session"})
	for in, want := range map[string]string{
		"customer_ssn=123-45-6789":     "customer_ssn=[REDACTED]",
		"session: abc":                 "session: abc",
		"session_id: abc":              "session_id: [REDACTED]",
		"https://h/?ssn=1&session=2#x": "https://h/?ssn=[REDACTED]&session=2#x",
	} {
		if got := m.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextNoAlloc(t *testing.T) {
	m := New()
	for _, s := range []string{
		`Get "https://api.example.com/v1/orders?page=2": dial tcp 10.0.0.1:443: connect: connection refused`,
		"plain message",
		"status_code=500 route=/orders/{id}",
		"eyJ but not a token",
	} {
		if got := m.Text(s); got != s {
			t.Fatalf("Text(%q) = %q", s, got)
		}
		if n := testing.AllocsPerRun(100, func() { m.Text(s) }); n != 0 {
			t.Errorf("Text(%q) allocates %v times", s, n)
		}
	}
}

func TestRawURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@push.example.com:9091/":    "https://user:[REDACTED]@push.example.com:9091/",
		"https://user:p%zz@host/":                       "https://user:[REDACTED]@host/",
		"https://user:pa ss#w@rd@host/x?token=1#frag":   "https://user:[REDACTED]@host/x?token=[REDACTED]#frag",
		"user:pw@collector:4317":                        "user:[REDACTED]@collector:4317",
		"collector:4317":                                "collector:4317",
		"http://host/cb#id_token=abc":                   "http://host/cb#id_token=[REDACTED]",
		"::not a url":                                   "::not a url",
		"https://ghp_token@github.com":                  "https://[REDACTED]@github.com",
		"https://h/p?X-Amz-Signature=s&X-Amz-Expires=1": "https://h/p?X-Amz-Signature=[REDACTED]&X-Amz-Expires=1",
	} {
		if got := RawURL(in); got != want {
			t.Errorf("RawURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLFragment(t *testing.T) {
	m := New()
	for in, want := range map[string]string{
		"https://u:p@h/cb?code=c&x=1#access_token=t&state=s": "https://u:[REDACTED]@h/cb?code=[REDACTED]&x=1#access_token=[REDACTED]&state=s",
		"https://h/docs#section":                             "https://h/docs#section",
		"https://h/p?":                                       "https://h/p?",
		"https://h/a%2Fb?q=1#f%20g":                          "https://h/a%2Fb?q=1#f%20g",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.URL(u); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTextLinear checks that hostile input costs time in proportion to its length: the
// scans advance and never rescan, whatever repeats.
func TestTextLinear(t *testing.T) {
	m := New()
	for _, unit := range []string{"token=", "a:", "https://", "eyJ", "eyJhbGciOiJIUzI1NiJ9.", "Bearer ", "\"token\":\"", "@", "a://b@", "token:[", "a token: b ", "token=Bearer ", "x\\\"token\\\":"} {
		s := strings.Repeat(unit, 200_000/len(unit))
		out := m.Text(s) // would take minutes if quadratic
		if m.Text(out) != out {
			t.Errorf("Text not idempotent on repeated %q", unit)
		}
	}
}
