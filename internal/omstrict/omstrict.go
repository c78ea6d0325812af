// Package omstrict checks an OpenMetrics text exposition the way a strict parser
// does, for tests: the module has no OpenMetrics parser (prometheus/common parses the
// Prometheus text format only), and what vigil must guarantee is what strict parsers
// reject, not every detail of the grammar.
package omstrict

import (
	"errors"
	"fmt"
	"strings"
)

// suffixes are the sample-name suffixes each OpenMetrics type allows after the family
// name.
var suffixes = map[string][]string{
	"counter":        {"_total", "_created"},
	"gauge":          {""},
	"histogram":      {"_bucket", "_count", "_sum", "_created"},
	"gaugehistogram": {"_bucket", "_gcount", "_gsum"},
	"summary":        {"", "_count", "_sum", "_created"},
	"info":           {"_info"},
	"stateset":       {""},
	"unknown":        {""},
}

// Check reports every violation in text: a family declared twice (counter foo_total
// and gauge foo are both family foo), a family's lines not contiguous, a counter
// family named with _total, a sample whose name does not belong to the family it
// appears in, a missing or misplaced "# EOF", an unknown type.
func Check(text string) error {
	var errs []error
	if !strings.HasSuffix(text, "# EOF\n") {
		errs = append(errs, errors.New(`exposition does not end with "# EOF"`))
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	declared := map[string]bool{}
	family, typ := "", ""
	typed, sampled := false, false // the current family has had its TYPE line, a sample
	for i, line := range lines {
		n := i + 1
		switch {
		case line == "# EOF":
			if n != len(lines) {
				errs = append(errs, fmt.Errorf("line %d: # EOF before the end", n))
			}
		case strings.HasPrefix(line, "# TYPE "), strings.HasPrefix(line, "# HELP "), strings.HasPrefix(line, "# UNIT "):
			f := strings.Fields(line)
			if len(f) < 3 {
				errs = append(errs, fmt.Errorf("line %d: malformed %q", n, line))
				continue
			}
			name := f[2]
			if name == family && sampled {
				errs = append(errs, fmt.Errorf("line %d: family %q declared again after its samples", n, name))
			}
			if name != family {
				if declared[name] {
					errs = append(errs, fmt.Errorf("line %d: family %q declared twice (or its lines are not contiguous)", n, name))
				}
				declared[name] = true
				family, typ = name, "unknown"
				typed, sampled = false, false
			}
			if f[1] == "TYPE" {
				if typed {
					errs = append(errs, fmt.Errorf("line %d: family %q has two TYPE lines", n, name))
				}
				typed = true
				if len(f) != 4 {
					errs = append(errs, fmt.Errorf("line %d: malformed %q", n, line))
					continue
				}
				typ = f[3]
				if _, ok := suffixes[typ]; !ok {
					errs = append(errs, fmt.Errorf("line %d: family %q has unknown type %q", n, name, typ))
				}
				if typ == "counter" && strings.HasSuffix(name, "_total") {
					errs = append(errs, fmt.Errorf("line %d: counter family %q ends in _total", n, name))
				}
			}
		case strings.HasPrefix(line, "#"):
			errs = append(errs, fmt.Errorf("line %d: unknown comment %q", n, line))
		case line == "":
			errs = append(errs, fmt.Errorf("line %d: empty line", n))
		default:
			name := line
			if j := strings.IndexAny(line, "{ "); j >= 0 {
				name = line[:j]
			}
			sampled = true
			if family == "" || !belongs(name, family, typ) {
				errs = append(errs, fmt.Errorf("line %d: sample %q outside its family (current %q, %s)", n, name, family, typ))
			}
		}
	}
	return errors.Join(errs...)
}

func belongs(sample, family, typ string) bool {
	for _, s := range suffixes[typ] {
		if sample == family+s {
			return true
		}
	}
	return false
}
