package console

import (
	"testing"

	"github.com/vigil-go/vigil/internal/envtest"
)

// TestMain runs the tests with none of the caller's VIGIL_*, OTEL_*, SENTRY_* or DD_* variables.
func TestMain(m *testing.M) {
	envtest.Clean()
	m.Run()
}
