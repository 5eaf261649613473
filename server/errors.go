package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error a client gets as OpenAI's error object:
// {"error": {"message", "type", "param", "code"}} with an HTTP status.
type apiError struct {
	status  int
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

// Error types, as OpenAI names them.
const (
	invalidRequest = "invalid_request_error"
	authentication = "authentication_error"
	notFound       = "not_found_error"
	serverError    = "server_error"
	unavailable    = "service_unavailable_error"
)

func newError(status int, typ, code, format string, args ...any) *apiError {
	e := &apiError{status: status, Message: fmt.Sprintf(format, args...), Type: typ}
	if code != "" {
		e.Code = &code
	}
	return e
}

// badRequest is a 400 about one request field (param, may be "").
func badRequest(param, format string, args ...any) *apiError {
	e := newError(http.StatusBadRequest, invalidRequest, "", format, args...)
	if param != "" {
		e.Param = &param
	}
	return e
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.status, map[string]*apiError{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone mid-write has nobody to tell
}
