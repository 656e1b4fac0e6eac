// Package problem maps errors to HTTP responses in RFC 9457 problem JSON.
//
// Services declare their business errors as values of *Error (or wrap one),
// each with a Kind; ErrorEncoder, shared by every go-kit HTTP transport, turns
// the Kind into a status code. Errors without a Kind are internal: the client
// sees a generic 500, and the detail stays in the log.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/campaign-live/campaign-live/pkg/auth"
)

// Kind classifies a business error.
type Kind int

// Kinds of error and the status each maps to.
const (
	Internal        Kind = iota // 500
	Invalid                     // 400
	Unauthenticated             // 401
	Forbidden                   // 403
	NotFound                    // 404
	Conflict                    // 409
	TooLarge                    // 413
	Unsupported                 // 415
	TooMany                     // 429
	Unavailable                 // 503
)

var statuses = map[Kind]int{
	Internal:        http.StatusInternalServerError,
	Invalid:         http.StatusBadRequest,
	Unauthenticated: http.StatusUnauthorized,
	Forbidden:       http.StatusForbidden,
	NotFound:        http.StatusNotFound,
	Conflict:        http.StatusConflict,
	TooLarge:        http.StatusRequestEntityTooLarge,
	Unsupported:     http.StatusUnsupportedMediaType,
	TooMany:         http.StatusTooManyRequests,
	Unavailable:     http.StatusServiceUnavailable,
}

// Error is an error a client can act on.
type Error struct {
	Kind   Kind
	Title  string // short, the same for every occurrence
	Detail string // this occurrence
	Field  string // the request field at fault, if one is
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Title + ": " + e.Detail
	}
	return e.Title
}

// Is makes errors.Is match two problems of the same kind and title, so a
// sentinel matches its detailed copies.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Title == e.Title
}

// New returns a sentinel error.
func New(kind Kind, title string) *Error { return &Error{Kind: kind, Title: title} }

// With returns a copy of e with a detail.
func (e *Error) With(detail string) *Error {
	c := *e
	c.Detail = detail
	return &c
}

// InvalidField reports a bad request field.
func InvalidField(field, detail string) *Error {
	return &Error{Kind: Invalid, Title: "invalid request", Field: field, Detail: detail}
}

// Body is the JSON document written for a problem.
type Body struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
}

// From classifies err. Token errors are Unauthenticated; anything unknown is
// Internal with no detail.
func From(err error) *Error {
	var p *Error
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, auth.ErrNoToken):
		return &Error{Kind: Unauthenticated, Title: "authentication required"}
	case errors.Is(err, auth.ErrInvalidToken):
		return &Error{Kind: Unauthenticated, Title: "invalid or expired token"}
	}
	return &Error{Kind: Internal, Title: "internal error"}
}

// Write writes err as problem JSON.
func Write(w http.ResponseWriter, err error) {
	p := From(err)
	status := statuses[p.Kind]
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	if p.Kind == Unauthenticated {
		h.Set("WWW-Authenticate", `Bearer realm="campaign-live"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Body{
		Type: "about:blank", Title: p.Title, Status: status, Detail: p.Detail, Field: p.Field,
	})
}

// ErrorEncoder returns a go-kit httptransport.ErrorEncoder that writes
// problem JSON and logs internal errors once, here.
func ErrorEncoder(log *slog.Logger) func(context.Context, error, http.ResponseWriter) {
	return func(ctx context.Context, err error, w http.ResponseWriter) {
		if From(err).Kind == Internal {
			log.ErrorContext(ctx, "request failed", "err", err)
		}
		Write(w, err)
	}
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int { return statuses[From(err).Kind] }

// RetryAfter sets the Retry-After header in seconds.
func RetryAfter(w http.ResponseWriter, seconds int) {
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
}
