package observe

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/internal/logtest"
)

// FuzzSettings gives one variable of the table an arbitrary value and checks that New
// either accepts it or fails with a *ConfigError whose problems name that variable, one
// line each (a newline in a value cannot forge a line), and never panics.
func FuzzSettings(f *testing.F) {
	for i, s := range []string{"checkout", "debug", "0", "-1", "1e3s", "x\ny", "http://u:p@h:1", "a=%zz",
		"none", "none,otlp", "traceidratio", "NaN", "65508", "host:99999", "/a, b", " "} {
		f.Add(uint8(i*7), s)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if strings.ContainsRune(value, 0) {
			return // the environment cannot hold NUL
		}
		s := &settings[int(which)%len(settings)]
		if strings.HasPrefix(s.Field, "Metrics.Push") || strings.HasPrefix(s.Field, "Metrics.Graphite") ||
			s.Field == "Metrics.StatsD.Addr" || s.Field == "Errors.DSN" {
			// These start senders; their syntax is fuzzed through the other variables' parsers.
			return
		}
		_, err := newWithEnv(t, quietConfig(&logtest.Buffer{}), map[string]string{s.Var: value})
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("%s=%q: %v is not a *ConfigError", s.Var, value, err)
		}
		for _, p := range ce.Problems {
			if p.Name != s.Var {
				t.Errorf("%s=%q: problem %q does not name the variable", s.Var, value, p)
			}
		}
		if n := strings.Count(err.Error(), "\n"); n != len(ce.Problems) {
			t.Errorf("%s=%q: %d problems on %d lines:\n%s", s.Var, value, len(ce.Problems), n, err)
		}
	})
}
