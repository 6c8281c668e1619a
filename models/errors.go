package models

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer; the HTTP layer maps each to a status.
const (
	CodeInvalid = "invalid"
	// CodeBadRequest is a request that is not well-formed HTTP or of a kind
	// the route does not read (unlike CodeInvalid: input to fix in a form).
	CodeBadRequest       = "bad_request"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeTooManyRequests  = "too_many_requests"
	CodeTooLarge         = "too_large"
	CodeHeaderTooLarge   = "header_too_large"
	CodeTimeout          = "timeout"
	CodeUnsupportedType  = "unsupported_media_type"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// Error is a domain error that carries a code, a message fit for the user and,
// for validation failures, a message per field (keyed by the field's form/JSON name).
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf makes a coded domain error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError makes an invalid-input error for one field.
func FieldError(field, message string) *Error {
	return &Error{Code: CodeInvalid, Message: message, Fields: map[string]string{field: message}}
}

// ErrorCode returns the code of a domain error anywhere in err's chain, or internal.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-facing message of a domain error, or a generic one
// that reveals nothing of internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the per-field messages of a validation error, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
