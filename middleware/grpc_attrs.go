package middleware

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc/codes"
)

// This file is the one place where the facts of a gRPC call become span attributes,
// metric labels and access-log fields, for the server and the client. The names are
// those of OpenTelemetry's RPC semantic conventions v1.43.0, the generation otelgrpc
// records by default since v0.70 (rpc.system.name, rpc.method as
// "package.Service/Method", rpc.response.status_code as the status code's name,
// error.type; the rpc.server.call.duration and rpc.client.call.duration metrics, in
// seconds). The older generation's rpc.system, rpc.service and rpc.grpc.status_code are
// not recorded. duration_ms, error.message, panic and the message counts are vigil's
// own.

// The names of gRPC facts.
const (
	nameRPCSystem         = "rpc.system.name"
	nameRPCMethod         = "rpc.method"
	nameRPCMethodOriginal = "rpc.method_original"
	nameRPCStatusCode     = "rpc.response.status_code"
	namePeerAddress       = "network.peer.address"
	namePeerPort          = "network.peer.port"
	nameMessagesSent      = "rpc.grpc.messages_sent"     // vigil's own: streams only
	nameMessagesReceived  = "rpc.grpc.messages_received" // vigil's own: streams only
)

// Metric labels: the attribute names in Prometheus form.
const (
	labelRPCSystem     = "rpc_system_name"
	labelRPCMethod     = "rpc_method"
	labelRPCStatusCode = "rpc_response_status_code"
	labelErrorType     = "error_type"
	labelServerPort    = "server_port"
)

var (
	rpcSystemGRPC = attribute.String(nameRPCSystem, "grpc")
	// rpcServerLabels label the server's call durations; error_type is empty for calls
	// that did not fail (which Prometheus treats as absent).
	rpcServerLabels = []string{labelRPCSystem, labelRPCMethod, labelRPCStatusCode, labelErrorType}
	// rpcClientLabels add the server the client called: server_address and server_port
	// come from the :authority, the dial target's host and port.
	rpcClientLabels = []string{labelRPCSystem, labelRPCMethod, labelRPCStatusCode, labelErrorType, labelServerAddress, labelServerPort}
	// rpcMessageLabels label vigil's per-stream message histograms.
	rpcMessageLabels = []string{labelRPCSystem, labelRPCMethod}
)

// codeNames are the rpc.response.status_code values: the canonical names of the status
// codes, as grpc's own documentation spells them (CANCELLED with two Ls). A code outside
// the 17 canonical ones is _OTHER, so the label set stays bounded.
var codeNames = [numCodes + 1]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED", methodOther,
}

// codeIndex is code's index in codeNames.
func codeIndex(c codes.Code) int {
	if c >= numCodes {
		return numCodes
	}
	return int(c)
}

// failed reports whether a call ended in error for its side: a client's call failed
// whatever the code; a server's only for the codes that mean the server failed.
func failed(code codes.Code, server bool) bool {
	return code != codes.OK && (!server || serverFault(code))
}

// rpcMethodName is rpc.method for a full method "/package.Service/Method".
func rpcMethodName(fullMethod string) string { return strings.TrimPrefix(fullMethod, "/") }

// rpcFacts are a finished call's facts, computed once in finish for the span and the
// access line; they live on its stack.
type rpcFacts struct {
	method         string // rpc.method, or _OTHER
	methodOriginal string // the client's method when method is _OTHER
	code           codes.Code
	failed         bool
	address        string // server.address: the client's :authority host
	port           int
	peer           string // network.peer.address
	peerPort       int
	requestID      string // server side
	stream         bool
	sent, received int64
	message        string // the status message of a non-OK call
}

// spanAttrs appends the span's attributes to attrs (a pooled array, which the SDK copies
// from). They are all set when the call ends, in one call: the SDK then grows the span's
// attribute slice once, where attributes given at Start as well cost it three
// allocations.
func (f *rpcFacts) spanAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	attrs = append(attrs, rpcSystemGRPC, attribute.String(nameRPCMethod, f.method),
		attribute.String(nameRPCStatusCode, codeNames[codeIndex(f.code)]))
	if f.failed {
		attrs = append(attrs, keyErrorType.String(codeNames[codeIndex(f.code)]))
	}
	if f.requestID != "" {
		attrs = append(attrs, keyRequestID.String(f.requestID))
	}
	if f.methodOriginal != "" {
		attrs = append(attrs, attribute.String(nameRPCMethodOriginal, f.methodOriginal))
	}
	if f.address != "" {
		attrs = append(attrs, keyServerAddress.String(f.address))
		if f.port > 0 {
			attrs = append(attrs, keyServerPort.Int(f.port))
		}
	}
	if f.peer != "" {
		attrs = append(attrs, attribute.String(namePeerAddress, f.peer))
		if f.peerPort > 0 {
			attrs = append(attrs, attribute.Int(namePeerPort, f.peerPort))
		}
	}
	if f.stream {
		attrs = append(attrs,
			attribute.Int64(nameMessagesSent, f.sent),
			attribute.Int64(nameMessagesReceived, f.received))
	}
	return attrs
}

// The fields of gRPC access lines (server and client), as indexes into grpcLineKeys,
// in the order a line has them.
const (
	gSystem = iota
	gMethod
	gMethodOriginal
	gStatusCode
	gErrorType
	gServerAddress
	gServerPort
	gPeerAddress
	gPeerPort
	gMessagesSent
	gMessagesReceived
	gErrorMessage
	gDuration
	gPanic
	numGRPCFields
)

// grpcLineKeys are the gRPC access lines' field names, by field.
var grpcLineKeys = [numGRPCFields]string{
	gSystem: nameRPCSystem, gMethod: nameRPCMethod, gMethodOriginal: nameRPCMethodOriginal,
	gStatusCode: nameRPCStatusCode, gErrorType: nameErrorType,
	gServerAddress: nameServerAddress, gServerPort: nameServerPort,
	gPeerAddress: namePeerAddress, gPeerPort: namePeerPort,
	gMessagesSent: nameMessagesSent, gMessagesReceived: nameMessagesReceived,
	gErrorMessage: nameErrorMessage, gDuration: nameDuration, gPanic: namePanic,
}

// line adds the access line's fields. request_id and the route (the full method) come
// from the context, as on every line of the call. Method names come from the method
// table (registered or used methods, else _OTHER) and status names from a fixed list;
// what the other side chose (an unknown method's name, a status message, the dialed
// authority) goes through the secret policy's value rule.
func (f *rpcFacts) line(w *lineWriter) {
	w.known(gSystem, "grpc")
	w.known(gMethod, f.method)
	if f.methodOriginal != "" {
		w.str(gMethodOriginal, f.methodOriginal)
	}
	w.known(gStatusCode, codeNames[codeIndex(f.code)])
	if f.failed {
		w.known(gErrorType, codeNames[codeIndex(f.code)])
	}
	if f.address != "" {
		w.str(gServerAddress, f.address)
		if f.port > 0 {
			w.int(gServerPort, int64(f.port))
		}
	}
	if f.peer != "" {
		w.known(gPeerAddress, f.peer)
		if f.peerPort > 0 {
			w.int(gPeerPort, int64(f.peerPort))
		}
	}
	if f.stream {
		w.int(gMessagesSent, f.sent)
		w.int(gMessagesReceived, f.received)
	}
	if f.message != "" {
		w.str(gErrorMessage, f.message)
	}
}
