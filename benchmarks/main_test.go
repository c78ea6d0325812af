package benchmarks

import (
	"testing"

	"github.com/vigil-go/vigil/internal/envtest"
)

// TestMain runs the comparisons with none of the caller's VIGIL_*, OTEL_*, SENTRY_* or DD_*
// variables, so every stack is measured as configured here.
func TestMain(m *testing.M) {
	envtest.Clean()
	m.Run()
}
