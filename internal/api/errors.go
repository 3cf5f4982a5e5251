package api

import (
	"errors"
	"net/http"

	"github.com/footlight/footlight/internal/awsmodel"
	"github.com/footlight/footlight/internal/sigv4"
	"github.com/footlight/footlight/internal/store"
)

// Error is an AWS-shaped error reply: the x-amzn-ErrorType code, the status and the message
// sent as both exceptionMessage (the model's member) and message (what CLIs print).
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The modeled errors (SPEC §3.1) and the unmodeled ones AWS sends (SPEC §3.2).
const (
	codeValidation       = "ValidationException"
	codeNotFound         = "ResourceNotFoundException"
	codeConflict         = "ConflictException"
	codeQuota            = "ServiceQuotaExceededException" // 402, not 429 (SPEC §3.1)
	codeInternal         = "InternalServerException"
	codeUnknownOperation = "UnknownOperationException"
	codeThrottling       = "ThrottlingException" // 429, unmodeled (SPEC §3.2)
)

func validation(msg string) *Error { return &Error{codeValidation, http.StatusBadRequest, msg} }

// toError maps any error a handler returns to the reply; ok is false for an unexpected error,
// which the caller logs (the client gets a fixed message).
func toError(err error) (e *Error, ok bool) {
	var apiErr *Error
	var verr *awsmodel.ValidationError
	var nf *store.NotFoundError
	var conflict *store.ConflictError
	var limit *store.LimitError
	switch {
	case errors.As(err, &apiErr):
		return apiErr, true
	case errors.As(err, &verr):
		return validation(verr.Error()), true
	case errors.As(err, &nf):
		return &Error{codeNotFound, http.StatusNotFound, "Resource not found: " + nf.ID}, true
	case errors.As(err, &conflict):
		return &Error{codeConflict, http.StatusConflict, conflict.Reason}, true
	case errors.As(err, &limit):
		return quotaExceeded(limit), true
	case errors.Is(err, store.ErrInvalidPageToken):
		return validation("1 validation error detected: Value at 'nextToken' failed to satisfy constraint: Member must be a nextToken returned by the same operation"), true
	case errors.Is(err, store.ErrTooManyTags):
		return validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: a resource can have at most 50 tags"), true
	}
	return &Error{codeInternal, http.StatusInternalServerError, "Unexpected error during processing of request."}, false
}

// authError maps a refused signature to AWS's 403 (SPEC §3.2).
func authError(err error) *Error {
	return &Error{sigv4.Code(err), http.StatusForbidden, sigv4.Message(err)}
}
