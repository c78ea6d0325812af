// Package otlptest runs in-process OTLP trace receivers for tests: a gRPC one and an
// HTTP one built on the OTLP protobuf service definitions
// (go.opentelemetry.io/proto/otlp), plus collectors that refuse connections or accept
// them and never answer. Receivers keep every ResourceSpans they get, so tests assert
// on what a real collector would see.
//
// Every helper registers its own cleanup with the test, so a test that forgets to
// Close leaks nothing; Close is still useful to cut connections before a goleak check.
package otlptest
