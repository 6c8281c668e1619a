package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// Status maps a domain error code to the API's HTTP status. Unlike the
// dashboard (422 for a form to fix), the API answers bad input with 400.
func Status(code string) int {
	switch code {
	case models.CodeInvalid, models.CodeBadRequest:
		return fiber.StatusBadRequest
	case models.CodeTimeout:
		return fiber.StatusRequestTimeout
	case models.CodeHeaderTooLarge:
		return fiber.StatusRequestHeaderFieldsTooLarge
	case models.CodeUnsupportedType:
		return fiber.StatusUnsupportedMediaType
	case models.CodeMethodNotAllowed:
		return fiber.StatusMethodNotAllowed
	case models.CodeNotFound:
		return fiber.StatusNotFound
	case models.CodeConflict:
		return fiber.StatusConflict
	case models.CodeUnauthorized:
		return fiber.StatusUnauthorized
	case models.CodeForbidden:
		return fiber.StatusForbidden
	case models.CodeTooManyRequests:
		return fiber.StatusTooManyRequests
	case models.CodeTooLarge:
		return fiber.StatusRequestEntityTooLarge
	case models.CodeUnavailable:
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// Code is the upper-case code the API shows for a domain error code.
func Code(code string) string {
	switch code {
	case models.CodeInvalid, models.CodeBadRequest:
		return "BAD_REQUEST"
	case models.CodeTimeout:
		return "REQUEST_TIMEOUT"
	case models.CodeHeaderTooLarge:
		return "REQUEST_HEADER_FIELDS_TOO_LARGE"
	case models.CodeUnsupportedType:
		return "UNSUPPORTED_MEDIA_TYPE"
	case models.CodeMethodNotAllowed:
		return "METHOD_NOT_ALLOWED"
	case models.CodeNotFound:
		return "NOT_FOUND"
	case models.CodeConflict:
		return "CONFLICT"
	case models.CodeUnauthorized:
		return "UNAUTHORIZED"
	case models.CodeForbidden:
		return "FORBIDDEN"
	case models.CodeTooManyRequests:
		return "TOO_MANY_REQUESTS"
	case models.CodeTooLarge:
		return "CONTENT_TOO_LARGE"
	case models.CodeUnavailable:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

// errorBody is every API error: a sentence for people and a code for programs.
type errorBody struct {
	Message string            `json:"message"`
	Code    string            `json:"code"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// WriteError answers an API request with err as JSON. Internal errors are
// logged with the request id and shown without detail. The server's error
// handler has already turned Fiber's own errors (body too large, …) into
// domain errors.
func WriteError(c *fiber.Ctx, err error, log *slog.Logger, requestID string) error {
	code := models.ErrorCode(err)
	body := errorBody{Message: models.ErrorMessage(err), Code: Code(code), Fields: models.ErrorFields(err)}
	if code == models.CodeInternal {
		log.Error("internal error", "request_id", requestID, "method", c.Method(), "path", c.Path(), "error", err)
		body = errorBody{Message: "Something went wrong on our side. It has been logged (request " + requestID + ").", Code: Code(code)}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if code == models.CodeUnavailable {
		log.Warn("unavailable", "request_id", requestID, "method", c.Method(), "path", c.Path(), "error", err)
		if len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
			c.Set(fiber.HeaderRetryAfter, RetryAfterUnavailable)
		}
	}
	return c.Status(Status(code)).JSON(body)
}

// RetryAfterUnavailable is the Retry-After (seconds) of a 503: the database
// or another dependency is down for now.
const RetryAfterUnavailable = "5"

// checkContentType refuses bodies the API cannot read as JSON. JSON is
// expected, but a form type is tolerated because curl -d sends it.
func checkContentType(c *fiber.Ctx) error {
	ct := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentType)))
	mt, _, _ := strings.Cut(ct, ";")
	switch strings.TrimSpace(mt) {
	case "", fiber.MIMEApplicationJSON, fiber.MIMEApplicationForm, fiber.MIMETextPlain, "application/jsonl":
		return nil
	}
	if strings.HasSuffix(mt, "+json") {
		return nil
	}
	return models.Errorf(models.CodeUnsupportedType, "The body must be JSON (Content-Type: application/json), not %s.", models.TruncateUTF8(mt, 100))
}

// Decode is decode for the dashboard's JSON endpoints outside /api/v1 (the
// web chat widget's), so they read bodies exactly as the API does.
func Decode(c *fiber.Ctx, v any) error { return decode(c, v) }

// decode reads a JSON object body into v strictly (unknown fields, wrong types
// and trailing data are errors) and validates it. An empty body is {}.
func decode(c *fiber.Ctx, v any) error {
	if err := checkContentType(c); err != nil {
		return err
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return models.Errorf(models.CodeInvalid, "The body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return models.Errorf(models.CodeInvalid, "The body must hold one JSON object and nothing after it.")
	}
	// Validate also bounds every meta and refuses NUL and invalid UTF-8,
	// in embedded request structs and messages too.
	return models.Validate(v)
}

// jsonError turns a decoding failure into a clear invalid-input error.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return models.Errorf(models.CodeInvalid, "The body is not valid JSON (at byte %d): %s.", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			return models.Errorf(models.CodeInvalid, "The body must be a JSON object.")
		}
		return models.FieldError(field, fmt.Sprintf("%s must be %s, not %s.", models.Label(lastPart(field)), jsonKind(typ.Type.Kind().String()), typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return models.Errorf(models.CodeInvalid, "The body is not valid JSON: it ends too early.")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return models.Errorf(models.CodeInvalid, "Unknown field %s.", f)
	}
	return models.Errorf(models.CodeInvalid, "The body could not be read: %s.", models.TruncateUTF8(msg, 200))
}

// embedded are the Go names of request structs embedded in others, which
// encoding/json puts in a field's path although they are not in the JSON.
var embedded = map[string]bool{"updateDatasetRequest": true, "conversationRequest": true, "configFields": true, "unsupported": true}

// jsonPath is a field's path as the client wrote it.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if !embedded[p] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func lastPart(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32":
		return "a whole number"
	case "float64", "float32":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}

// page reads cursor, order and take from the query string.
func page(c *fiber.Ctx) (models.Page, error) {
	p := models.Page{Cursor: c.Query("cursor"), Order: models.OrderDesc, Limit: models.DefaultPageSize}
	if p.Cursor != "" && !models.ValidID(p.Cursor) {
		return p, models.FieldError("cursor", "Cursor is not one this API returned.")
	}
	switch o := c.Query("order"); o {
	case "", models.OrderDesc:
	case models.OrderAsc:
		p.Order = models.OrderAsc
	default:
		return p, models.FieldError("order", "Order must be asc or desc.")
	}
	if t := c.Query("take"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > models.MaxPageSize {
			return p, models.FieldError("take", fmt.Sprintf("Take must be a whole number from 1 to %d.", models.MaxPageSize))
		}
		p.Limit = n
	}
	var bad error
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		key := string(k)
		switch {
		case bad != nil, key == "cursor", key == "order", key == "take":
		case strings.HasPrefix(key, "meta."):
			bad = models.FieldError(key, "Filtering lists by meta is not supported yet.")
		default:
			bad = models.FieldError(key, fmt.Sprintf("Unknown query parameter %q.", key))
		}
	})
	if bad != nil {
		return p, bad
	}
	return p, nil
}

// list is every listing's answer: a page of items and the cursor for the next.
type list[T any] struct {
	Items  []T    `json:"items"`
	Cursor string `json:"cursor"`
}

// idResponse answers creates, updates and deletes.
type idResponse struct {
	ID string `json:"id"`
}

// deleteByID answers a delete of the object the path parameter param names:
// an empty JSON body, then del, then its id.
func (a *API) deleteByID(c *fiber.Ctx, param string, del func(ctx context.Context, id string) error) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Params(param)
	if err := del(c.UserContext(), id); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: id})
}
