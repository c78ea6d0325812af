package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// lineKeys returns the top-level keys of one JSON line, in order.
func lineKeys(tb testing.TB, line []byte) []string {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		tb.Fatalf("%v: %s", err, line)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			tb.Fatalf("%v: %s", err, line)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			tb.Fatalf("%v: %s", err, line)
		}
	}
	return keys
}

func lastLine(tb testing.TB, w *countingWriter) []byte {
	tb.Helper()
	lines := w.all()
	if len(lines) == 0 {
		tb.Fatal("no line written")
	}
	return lines[len(lines)-1]
}

// TestFloorLinesMatchVigil checks that the floor writes the same access line as vigil (the
// same keys in the same order), for HTTP and gRPC: the floor is only a floor if it does
// the same work. When vigil's line changes, change floor_test.go with it.
func TestFloorLinesMatchVigil(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		var got [][]string
		for _, build := range []func(testing.TB, *countingWriter) httpStack{
			func(tb testing.TB, w *countingWriter) httpStack { return vigilFull(tb, w, w) },
			func(tb testing.TB, w *countingWriter) httpStack { return floorStack(tb, w, w) },
		} {
			w := &countingWriter{}
			s := build(t, w)
			s.handler.ServeHTTP(httptest.NewRecorder(), orderRequest())
			got = append(got, lineKeys(t, lastLine(t, w)))
		}
		if !slices.Equal(got[0], got[1]) {
			t.Errorf("HTTP access line keys differ:\nvigil %q\nfloor %q", got[0], got[1])
		}
	})
	t.Run("grpc", func(t *testing.T) {
		vigilLogs := &countingWriter{}
		o := newObserver(t, vigilSinks{logs: vigilLogs})
		floorLogs := &countingWriter{}
		tp := sdkProvider(t, 1, &spanSink{})
		f := newFloorGRPC(tp, prometheus.NewRegistry(), floorLogs)
		var got [][]string
		for _, c := range []struct {
			s grpcStack
			w *countingWriter
		}{
			{grpcStack{impl: "vigil", opts: o.GRPCServerOptions()}, vigilLogs},
			{grpcStack{impl: "floor", opts: floorGRPCStackOpts(f)}, floorLogs},
		} {
			client, stop := dialStackStop(t, c.s)
			if _, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{}); err != nil {
				t.Fatal(err)
			}
			stop()
			got = append(got, lineKeys(t, lastLine(t, c.w)))
		}
		if !slices.Equal(got[0], got[1]) {
			t.Errorf("gRPC access line keys differ:\nvigil %q\nfloor %q", got[0], got[1])
		}
	})
}

// TestAppendEscaped checks the floor's JSON string escaping against encoding/json's
// decoder.
func TestAppendEscaped(t *testing.T) {
	for _, s := range []string{"", "plain", `q"u\o`, "tab\tnl\ncr\r\x00\x1f", "é✓", "bad\xffutf8", "<script>&"} {
		b := append(appendEscaped([]byte{'"'}, s), '"')
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q: %s is not a JSON string: %v", s, b, err)
			continue
		}
		want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
		if back != want {
			t.Errorf("%q: decoded %q, want %q", s, back, want)
		}
	}
}
