package logging_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/vigil-go/vigil/logging"
)

// FuzzConfig gives one Config field an arbitrary value (a level through ParseLevel, a
// format, secret names) and checks that it is either accepted and honoured or rejected by
// an error naming the field on one line, and that nothing panics. The environment
// variables that fill these fields are package observe's (see its settings tests).
// Seeds: testdata/fuzz/FuzzConfig.
func FuzzConfig(f *testing.F) {
	fields := []string{"Level", "Format", "AddSource", "RedactKeys"}
	for i, s := range []string{"debug", "TEXT", "true", "card_number", "warn+2", "xml", "maybe", ",, ,", "ERROR-1", "info\n{}"} {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if l, err := logging.ParseLevel(value); err == nil {
			if back, err := logging.ParseLevel(l.String()); err != nil || back != l {
				t.Fatalf("ParseLevel(%q) = %v, which does not parse back (%v, %v)", value, l, back, err)
			}
		}
		field := fields[int(which)%len(fields)]
		var out bytes.Buffer
		cfg := logging.Config{Output: &out}
		switch field {
		case "Level":
			l, err := logging.ParseLevel(value)
			if err != nil {
				return
			}
			cfg.Level = l
		case "Format":
			cfg.Format = value
		case "AddSource":
			cfg.AddSource = value != ""
		case "RedactKeys":
			cfg.RedactKeys = strings.Split(value, ",")
		}
		logger, err := logging.New(cfg)
		if err != nil {
			if !strings.Contains(err.Error(), field) {
				t.Fatalf("%s=%q: error %q does not name the field", field, value, err)
			}
			if field != "RedactKeys" && strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%q: error spans lines: %q", field, value, err)
			}
			return
		}
		// Above any level a field can set, so the record is always written.
		logger.Log(context.Background(), slog.Level(math.MaxInt), "probe", "card_number", "4111", "password", "hunter2")
		if field == "Format" && strings.EqualFold(strings.TrimSpace(value), "text") {
			return
		}
		if n := strings.Count(out.String(), "\n"); n != 1 || strings.Contains(out.String(), "hunter2") {
			t.Fatalf("%s=%q: output %q", field, value, out.String())
		}
		if field == "RedactKeys" && strings.Contains(","+value+",", ",card_number,") && strings.Contains(out.String(), "4111") {
			t.Fatalf("%s=%q did not redact card_number: %q", field, value, out.String())
		}
	})
}
