package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// apiError is an error with the HTTP status and message the client gets;
// every other error is a 500 whose detail goes to the log only.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// errStatus makes an apiError.
func errStatus(status int, format string, a ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

// fail answers a handler's error as JSON with its status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, ae.msg
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mbe.Limit)
	case errors.Is(err, ErrSubmitted):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, ErrIncomplete):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, ErrNotAssigned), errors.Is(err, ErrNotFound):
		status, msg = http.StatusNotFound, "no such case"
	case errors.Is(err, context.Canceled):
		return
	default:
		s.o.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON answers v as JSON, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object into v: Content-Type must be
// application/json (415), the body at most MaxBodyBytes (413), the JSON
// well formed with no unknown fields and nothing after it (400).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errStatus(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errStatus(http.StatusBadRequest, "malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errStatus(http.StatusBadRequest, "malformed JSON body: data after the object")
	}
	return nil
}
