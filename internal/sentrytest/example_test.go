package sentrytest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/sentrytest"
)

// In a test, point the code under test at the server's DSN and assert on the events.
func Example() {
	t := &testing.T{} // in a real test, the test's own t
	s := sentrytest.NewServer(t)
	client, _ := sentry.NewClient(sentry.ClientOptions{Dsn: s.DSN(), Transport: sentry.NewHTTPSyncTransport()})
	defer client.Close()
	sentry.NewHub(client, sentry.NewScope()).CaptureMessage("disk full")

	ev := s.WaitForEvents(t, 1, 5*time.Second)[0]
	fmt.Println(ev.Message)
	// Output: disk full
}
