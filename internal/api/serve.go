package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
)

// maxBody bounds a request body; the largest input (a public key with 50 tags) is ~30 KB.
const maxBody = 1 << 20

// ServeHTTP answers one API call: read, verify the signature, route, validate, run, encode.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	log := a.log.With("request_id", reqID)
	status, opName := a.serve(w, r, log)
	log.Debug("request", "op", opName, "method", r.Method, "status", status, "duration", time.Since(start))
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, log *slog.Logger) (status int, opName string) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic serving request", "op", opName, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			status = a.writeError(w, &Error{codeInternal, http.StatusInternalServerError, "Unexpected error during processing of request."})
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return a.writeError(w, validation("The request body is larger than 1 MiB")), ""
		}
		return a.writeError(w, validation("Could not read the request body")), ""
	}
	if _, err := a.cfg.Verifier.Verify(r, body); err != nil {
		log.Debug("signature refused", "err", err)
		return a.writeError(w, authError(err)), ""
	}
	o, pathMembers, ok := a.route(r)
	if !ok {
		return a.writeError(w, &Error{codeUnknownOperation, http.StatusNotFound,
			fmt.Sprintf("No operation matches %s %s", r.Method, r.URL.EscapedPath())}), ""
	}
	if !a.rates.allow(o.name, a.cfg.Now()) { // after the signature: AWS throttles per account
		return a.writeError(w, throttled()), o.name
	}
	out, err := a.call(r, o, body, pathMembers)
	if err != nil {
		e, known := toError(err)
		if !known {
			log.Error("operation failed", "op", o.name, "err", err)
		}
		return a.writeError(w, e), o.name
	}
	return a.writeJSON(w, http.StatusOK, out), o.name
}

func (a *API) call(r *http.Request, o operation, body []byte, pathMembers map[string]any) (any, error) {
	var in map[string]any
	if r.Method == http.MethodPost {
		var err error
		if in, err = decodeMembers(body); err != nil {
			return nil, err
		}
	} else {
		in = map[string]any{} // GET and DELETE carry no body (SPEC §2.1)
	}
	for k, v := range pathMembers {
		in[k] = v
	}
	if err := a.model.ValidateInput(o.name, in); err != nil {
		return nil, err
	}
	return o.serve(r.Context(), in)
}

func (a *API) writeError(w http.ResponseWriter, e *Error) int {
	w.Header().Set("x-amzn-ErrorType", e.Code)
	return a.writeJSON(w, e.Status, map[string]string{"exceptionMessage": e.Message, "message": e.Message})
}

func (a *API) writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		a.log.Error("encode reply", "err", err)
		status = http.StatusInternalServerError
		w.Header().Set("x-amzn-ErrorType", codeInternal)
		b = []byte(`{"exceptionMessage":"Unexpected error during processing of request.","message":"Unexpected error during processing of request."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	return status
}
