package stage

import "errors"

var (
	// ErrNotFound: the stage (or the resource an operation names) does not exist.
	ErrNotFound = errors.New("stage not found")
	// ErrInvalid: input that passed the wire model but breaks a domain rule (e.g. an ARN of
	// another region or account).
	ErrInvalid = errors.New("invalid input")
)
