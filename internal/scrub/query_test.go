package scrub

import "testing"

func TestQueryCases(t *testing.T) {
	m := New()
	for in, want := range map[string]string{
		"a=1&token=2&b=3":         "a=1&token=[REDACTED]&b=3",
		"token=1&":                "token=[REDACTED]&",
		"&token=1":                "&token=[REDACTED]",
		"a=1":                     "a=1",
		"password=x":              "password=[REDACTED]",
		"x=1&&pwd=2&y":            "x=1&&pwd=[REDACTED]&y",
		"%zz=1":                   Redacted,
		"X-Amz-Signature=abc&k=v": "X-Amz-Signature=[REDACTED]&k=v",
		"api%5Fkey=1":             "api%5Fkey=[REDACTED]",
	} {
		if got := m.Query(in); got != want {
			t.Errorf("Query(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { m.Query("a=1&b=2&sort=asc") }); n != 0 {
		t.Errorf("clean query allocates %v times", n)
	}
}
