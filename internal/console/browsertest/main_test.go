package browsertest

import (
	"os"
	"testing"

	"github.com/vigil-go/vigil/internal/envtest"
)

// The test harness's own knobs, read before envtest.Clean removes every VIGIL_* variable
// (vigil itself reads none of them).
var (
	screenshotDir   = os.Getenv("VIGIL_SCREENSHOTS")
	chromiumPath    = os.Getenv("VIGIL_CHROMIUM")
	browserRequired = os.Getenv("VIGIL_IT_BROWSER") == "required"
)

// TestMain runs the tests with none of the caller's VIGIL_*, OTEL_*, SENTRY_* or DD_* variables:
// the quick start the tests start inherits this clean environment.
func TestMain(m *testing.M) {
	envtest.Clean()
	m.Run()
}
