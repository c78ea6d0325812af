package envtest

import (
	"os"
	"slices"
	"testing"
)

func TestClean(t *testing.T) {
	set := map[string]bool{ // name: whether Clean must keep it
		"VIGIL_LOG_LEVEL":             false,
		"VIGIL_STATSD_ADDR":           false,
		"OTEL_SDK_DISABLED":           false,
		"OTEL_EXPORTER_OTLP_ENDPOINT": false,
		"SENTRY_DSN":                  false,
		"DD_AGENT_HOST":               false,
		"VIGIL_IT_PROMETHEUS":         true,
		"VIGIL_RELIABILITY_FULL":      true,
		"VIGILANT":                    true, // not the prefix VIGIL_
		"XOTEL_SDK_DISABLED":          true,
		"HOME_FOR_ENVTEST":            true,
	}
	for name := range set {
		t.Setenv(name, "hostile")
	}
	unset := Clean()
	for name, keep := range set {
		_, ok := os.LookupEnv(name)
		if ok != keep {
			t.Errorf("%s still set = %v, want %v", name, ok, keep)
		}
		if slices.Contains(unset, name) == keep {
			t.Errorf("Clean() = %v: reports %s wrongly", unset, name)
		}
	}
}
