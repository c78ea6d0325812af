// Package envtest makes vigil's tests hermetic: they must pass whatever the developer's shell
// or the CI machine exports. Every package's TestMain calls Clean before m.Run; a test that
// needs a variable sets it with t.Setenv, so it is restored when the test ends.
//
//	func TestMain(m *testing.M) {
//		envtest.Clean()
//		m.Run()
//	}
package envtest

import (
	"os"
	"strings"
)

// Prefixes are the variables vigil or the SDKs under it (OpenTelemetry, Sentry, Datadog's
// conventions for StatsD) read.
var Prefixes = []string{"VIGIL_", "OTEL_", "SENTRY_", "DD_"}

// harness reports whether name is a knob of the test harness itself, which vigil never reads:
// the integration suite's server addresses and the full-scale reliability switch.
func harness(name string) bool {
	return strings.HasPrefix(name, "VIGIL_IT_") || name == "VIGIL_RELIABILITY_FULL"
}

// Clean unsets every variable named by Prefixes in this process, except the harness's own,
// and returns the names it unset. Call it from TestMain, before any test runs: it is not
// safe alongside tests that read or set the environment.
func Clean() []string {
	var unset []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if harness(name) || !hasPrefix(name) {
			continue
		}
		os.Unsetenv(name)
		unset = append(unset, name)
	}
	return unset
}

func hasPrefix(name string) bool {
	for _, p := range Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
