package sigv4

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. Verify never returns them bare: each comes wrapped
// in an *authError that adds the client-safe message for that request.
var (
	// ErrMissingAuth: no Authorization header, or one of another scheme.
	ErrMissingAuth = errors.New("sigv4: missing authentication token")
	// ErrIncomplete: the Authorization header or a header it names is malformed or absent.
	ErrIncomplete = errors.New("sigv4: incomplete signature")
	// ErrUnknownAccessKey: Credentials does not know the access key id.
	ErrUnknownAccessKey = errors.New("sigv4: unknown access key")
	// ErrSignatureMismatch: the signature is not the one the secret key gives.
	ErrSignatureMismatch = errors.New("sigv4: signature mismatch")
	// ErrExpired: the request time is further than MaxSkew from now.
	ErrExpired = errors.New("sigv4: signature expired")
	// ErrBadScope: the credential scope names another date, region, service or terminator.
	ErrBadScope = errors.New("sigv4: bad credential scope")
	// ErrContentSHA256Mismatch: X-Amz-Content-Sha256 is not the hash of the body.
	ErrContentSHA256Mismatch = errors.New("sigv4: x-amz-content-sha256 mismatch")
)

// defaultMessages are AWS's own texts for errors that need no detail.
var defaultMessages = map[error]string{
	ErrMissingAuth:           "Missing Authentication Token",
	ErrIncomplete:            "Authorization header is malformed.",
	ErrUnknownAccessKey:      "The security token included in the request is invalid.",
	ErrSignatureMismatch:     "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
	ErrContentSHA256Mismatch: "The provided 'x-amz-content-sha256' header does not match what was computed.",
}

// authError wraps a sentinel with the message sent to the client. Messages
// are built only from what the client itself sent, never from the secret or
// the expected signature, so they are safe to return and to log.
type authError struct {
	kind error
	msg  string
}

func (e *authError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *authError) Unwrap() error { return e.kind }

// fail returns kind wrapped with a formatted message, or with the default
// message of kind when format is empty.
func fail(kind error, format string, args ...any) error {
	if format == "" {
		return &authError{kind, defaultMessages[kind]}
	}
	return &authError{kind, fmt.Sprintf(format, args...)}
}

// Code returns the AWS error name for err; every one of them is sent with
// HTTP 403. Errors Verify did not produce get InvalidSignatureException.
// Code(nil) is "".
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMissingAuth):
		return "MissingAuthenticationTokenException"
	case errors.Is(err, ErrIncomplete):
		return "IncompleteSignatureException"
	case errors.Is(err, ErrUnknownAccessKey):
		return "UnrecognizedClientException"
	}
	return "InvalidSignatureException"
}

// Message returns the client-facing message for err. It never contains a
// secret key or the signature the verifier expected. Message(nil) is "".
func Message(err error) string {
	var ae *authError
	if err == nil {
		return ""
	}
	if errors.As(err, &ae) {
		return ae.msg
	}
	for kind, msg := range defaultMessages {
		if errors.Is(err, kind) {
			return msg
		}
	}
	return defaultMessages[ErrSignatureMismatch]
}
