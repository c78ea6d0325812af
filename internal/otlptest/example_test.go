package otlptest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/vigil-go/vigil/internal/otlptest"
	"github.com/vigil-go/vigil/tracing"
)

// exampleTB stands in for *testing.T outside a test function.
type exampleTB struct{ cleanups []func() }

func (*exampleTB) Helper()                           {}
func (*exampleTB) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
func (tb *exampleTB) Cleanup(f func())               { tb.cleanups = append(tb.cleanups, f) }

func Example() {
	tb := &exampleTB{}
	rcv := otlptest.StartGRPC(tb) // or StartHTTP
	defer rcv.Close()

	p, err := tracing.New(context.Background(), tracing.Config{
		Endpoint: rcv.URL, Protocol: "grpc", Service: "checkout",
	})
	if err != nil {
		log.Fatal(err)
	}
	_, span := p.Start(context.Background(), "charge card")
	span.End()
	_ = p.Shutdown(context.Background()) // flushes

	for _, s := range rcv.WaitSpans(tb, 1, 5*time.Second) {
		fmt.Println(s.Name, s.Resource["service.name"])
	}
	// Output: charge card checkout
}
