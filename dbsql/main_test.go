package dbsql_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/vigil-go/vigil/internal/envtest"
)

// TestMain runs the tests with none of the caller's VIGIL_*, OTEL_*, SENTRY_* or DD_* variables
// (tests set what they need with t.Setenv), and fails the run if a goroutine outlives them.
func TestMain(m *testing.M) {
	envtest.Clean()
	goleak.VerifyTestMain(m)
}
