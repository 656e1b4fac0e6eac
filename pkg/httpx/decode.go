// Package httpx holds the small HTTP helpers every REST service shares:
// strict JSON decoding with a body limit, and JSON responses.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/campaign-live/campaign-live/pkg/problem"
)

// MaxBody is the default limit of a request body.
const MaxBody = 64 << 10

// Errors of DecodeJSON besides field errors.
var (
	ErrTooLarge    = problem.New(problem.TooLarge, "request body too large")
	ErrContentType = problem.New(problem.Unsupported, "content type must be application/json")
	ErrMalformed   = problem.New(problem.Invalid, "malformed JSON")
)

// DecodeJSON reads one JSON object from r's body into v, strictly: unknown
// fields, wrong types, trailing data and bodies over limit bytes are errors
// that name the fault.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return ErrContentType
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err)
		}
		return ErrMalformed.With("more than one JSON value in the body")
	}
	return nil
}

func decodeError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &maxErr):
		return ErrTooLarge.With("at most " + strconv.FormatInt(maxErr.Limit, 10) + " bytes")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return ErrMalformed.With("the body must be a JSON object")
		}
		return problem.InvalidField(field, fmt.Sprintf("must be a JSON %s", jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr):
		return ErrMalformed.With(fmt.Sprintf("syntax error at byte %d", syntaxErr.Offset))
	case errors.Is(err, io.EOF):
		return ErrMalformed.With("empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrMalformed.With("unexpected end of body")
	}
	// encoding/json reports an unknown field only as text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return problem.InvalidField(name, "unknown field")
	}
	return ErrMalformed.With(err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// PathID reads the path value name as a positive id (digits only).
func PathID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, problem.InvalidField(name, "must be a positive integer")
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.InvalidField(name, "must be a positive integer")
	}
	return id, nil
}

// NotFound answers every unrouted request with problem JSON.
func NotFound(w http.ResponseWriter, _ *http.Request) {
	problem.Write(w, problem.New(problem.NotFound, "not found"))
}
