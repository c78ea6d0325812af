package logging_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/logging"
)

// FuzzConfig sets one of the package's variables (or passes a level name to ParseLevel)
// and checks that a value is either accepted and honoured or rejected by an error naming
// the variable on one line, and that nothing panics. Seeds: testdata/fuzz/FuzzConfig.
func FuzzConfig(f *testing.F) {
	vars := []string{logging.EnvLevel, logging.EnvFormat, logging.EnvSource, logging.EnvRedact}
	for i, s := range []string{"debug", "TEXT", "true", "card_number", "warn+2", "xml", "maybe", ",, ,", "ERROR-1", "info\n{}"} {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if l, err := logging.ParseLevel(value); err == nil {
			if back, err := logging.ParseLevel(l.String()); err != nil || back != l {
				t.Fatalf("ParseLevel(%q) = %v, which does not parse back (%v, %v)", value, l, back, err)
			}
		}
		if strings.ContainsRune(value, 0) {
			return // the environment cannot hold NUL
		}
		name := vars[int(which)%len(vars)]
		for _, v := range vars {
			os.Unsetenv(v)
		}
		os.Setenv(name, value)
		defer os.Unsetenv(name)
		var out bytes.Buffer
		logger, err := logging.New(logging.Config{Output: &out})
		if err != nil {
			if !strings.Contains(err.Error(), name+"=") {
				t.Fatalf("%s=%q: error %q does not name the variable", name, value, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%q: error spans lines: %q", name, value, err)
			}
			return
		}
		// Above any level a variable can set, so the record is always written.
		logger.Log(context.Background(), slog.Level(math.MaxInt), "probe", "card_number", "4111", "password", "hunter2")
		if name == logging.EnvFormat && strings.EqualFold(value, "text") {
			return
		}
		if n := strings.Count(out.String(), "\n"); n != 1 || strings.Contains(out.String(), "hunter2") {
			t.Fatalf("%s=%q: output %q", name, value, out.String())
		}
		if name == logging.EnvRedact && strings.Contains(","+value+",", ",card_number,") && strings.Contains(out.String(), "4111") {
			t.Fatalf("%s=%q did not redact card_number: %q", name, value, out.String())
		}
	})
}
