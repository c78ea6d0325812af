package exportstatus_test

import (
	"testing"

	"github.com/vigil-go/vigil/internal/envtest"
)

// TestMain runs the tests with none of the caller's VIGIL_*, OTEL_*, SENTRY_* or DD_* variables:
// tests set what they need with t.Setenv.
func TestMain(m *testing.M) {
	envtest.Clean()
	m.Run()
}
