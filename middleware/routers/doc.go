// Package routers tests vigil's HTTP middleware with the routers whose modules stay out
// of vigil's go.mod (gorilla/mux, gin, echo) and with chi and http.ServeMux, in every
// wiring the middleware package documents. It holds tests only.
package routers
