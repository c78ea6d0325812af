package observe

// SKELETON: the HTTP helper owns this file.

import (
	"context"
	"net/http"
)

// HTTPConfig configures Middleware and Transport.
type HTTPConfig struct{}

type httpParts struct{}

func (o *Observer) initHTTP(context.Context) error {
	o.http = &httpParts{}
	return nil
}

// Middleware wraps next with all per-request telemetry.
func (o *Observer) Middleware(next http.Handler) http.Handler { return next }

// Middleware wraps next with the default Observer's per-request telemetry.
func Middleware(next http.Handler) http.Handler { return Default().Middleware(next) }
