// Package errors reports errors and panics to Sentry with the request that caused them,
// and always logs them.
package errors
