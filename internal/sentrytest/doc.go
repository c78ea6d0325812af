// Package sentrytest is a local Sentry for tests: an httptest server that accepts what
// sentry-go's transports send (POST /api/<project>/envelope/), decodes the real envelope
// wire format, and hands the events back as *sentry.Event, so a test asserts on the
// exception chain, frames, tags, request data and trace context an actual Sentry would
// receive.
//
// The envelope format is newline-delimited: a header line (JSON), then per item a header
// line (JSON, with "type" and optionally "length") and a payload that is either exactly
// "length" bytes or, without a length, runs to the next newline. Items of type "event"
// are decoded into events; the others (transactions, client reports, attachments) are
// kept as raw items.
//
// Failure modes a backend can have are scripted with Hang, RateLimit and SetHandlerHook,
// and every request body is kept (RawBodies), so a test can prove that no secret reached
// the server at all.
package sentrytest
