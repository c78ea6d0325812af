package observe

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/vigil-go/vigil/internal/conferr"
)

// ConfigError is the error New and Init return for an invalid configuration. It lists
// every problem at once, each naming the Config field or the environment variable the
// bad value came from. Secret values (DSN keys, OTLP headers, URL passwords) are
// masked or left out.
type ConfigError struct {
	Problems []Problem
}

// Problem is one invalid value.
type Problem struct {
	Name   string // the field as written in Config ("Metrics.StatsD.Addr") or the variable
	Value  string // the value, masked when secret
	Reason string // what is wrong and what is wanted
}

func (p Problem) String() string {
	if p.Name == "" {
		return p.Reason
	}
	return p.Name + "=" + strconv.Quote(p.Value) + ": " + p.Reason
}

// Error returns one line per problem.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("observe: invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// partField is the Config field holding each part's config, by conferr.Error.Part.
var partField = map[string]string{
	"logging": "Logging", "errors": "Errors", "tracing": "Tracing", "metrics": "Metrics",
	"http": "HTTP", "grpc": "GRPC",
}

// configError folds the environment's problems and the parts' errors into one
// *ConfigError, or returns nil when there is none. A part's complaint about a field the
// environment filled names the variable instead, with its value masked as the settings
// table says.
func configError(env *envResult, errs []error) error {
	var problems []Problem
	if env != nil {
		problems = append(problems, env.problems...)
	}
	field := func(name, value, reason string) {
		base, _, _ := strings.Cut(name, "[")
		if s := env.origin[base]; env != nil && s != nil {
			name, value = s.Var, s.show(env.values[s.Var])
		}
		problems = append(problems, Problem{Name: name, Value: value, Reason: reason})
	}
	for _, err := range errs {
		found, other := conferr.Find(err)
		for _, ce := range found {
			prefix := partField[ce.Part]
			for _, p := range ce.Problems {
				name := p.Field
				if prefix != "" {
					name = prefix + "." + name
				}
				field(name, p.Value, p.Reason)
			}
		}
		for _, err := range other {
			if !middlewareProblems(err.Error(), field) {
				problems = append(problems, Problem{Reason: err.Error()})
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &ConfigError{Problems: dedup(problems)}
}

// middlewareLine matches one of package middleware's validation messages:
// `HTTPConfig.Skip[0] = "x": reason`.
var middlewareLine = regexp.MustCompile(`^(HTTPConfig|GRPCConfig)\.(\w+(?:\[\d+\])?) = ("(?:[^"\\]|\\.)*"|.*?): (.*)$`)

// middlewareProblems reports the middleware's "middleware: a; b" validation error as
// problems under observe's field names; false if msg is not one.
func middlewareProblems(msg string, add func(name, value, reason string)) bool {
	rest, ok := strings.CutPrefix(msg, "middleware: ")
	if !ok {
		return false
	}
	var parsed [][]string
	for _, item := range strings.Split(rest, "; ") {
		m := middlewareLine.FindStringSubmatch(item)
		if m == nil {
			return false
		}
		parsed = append(parsed, m)
	}
	for _, m := range parsed {
		value := m[3]
		if u, err := strconv.Unquote(value); err == nil {
			value = u
		}
		add(strings.TrimSuffix(m[1], "Config")+"."+m[2], value, m[4])
	}
	return true
}

func dedup(ps []Problem) []Problem {
	seen := map[Problem]bool{}
	out := ps[:0]
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
