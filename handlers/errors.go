package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"parley/handlers/api"
	"parley/models"
)

// statusOf maps a domain error code to an HTTP status: the API's, except that
// a form to fix is 422 (the API answers bad input with 400).
func statusOf(code string) int {
	if code == models.CodeInvalid {
		return fiber.StatusUnprocessableEntity
	}
	return api.Status(code)
}

// fromFiber maps Fiber's own errors (unknown route, body too large, a
// request that timed out or could not be parsed, …) to domain errors whose
// status is the real one: 404, 405, 408, 413, 415, 431, 400.
func fromFiber(fe *fiber.Error) *models.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return models.Errorf(models.CodeNotFound, "Page not found.")
	case fiber.StatusMethodNotAllowed:
		return models.Errorf(models.CodeMethodNotAllowed, "This address does not accept that method.")
	case fiber.StatusRequestEntityTooLarge:
		return models.Errorf(models.CodeTooLarge, "The request is too large.")
	case fiber.StatusRequestTimeout:
		return models.Errorf(models.CodeTimeout, "The request took too long to arrive. Try again.")
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return models.Errorf(models.CodeHeaderTooLarge, "The request's address or headers are too large.")
	case fiber.StatusUnsupportedMediaType:
		return models.Errorf(models.CodeUnsupportedType, "The request's content type is not one this address reads.")
	case fiber.StatusTooManyRequests:
		return models.Errorf(models.CodeTooManyRequests, "Too many requests. Try again shortly.")
	case fiber.StatusServiceUnavailable:
		return models.Errorf(models.CodeUnavailable, "The service is unavailable right now. Try again shortly.")
	}
	if fe.Code >= 400 && fe.Code < 500 || fe.Code == fiber.StatusBadGateway {
		// A malformed request (or one whose connection failed while it was read).
		return models.Errorf(models.CodeBadRequest, "The request could not be read: it is not well-formed HTTP.")
	}
	return nil
}

type errorPage struct {
	Page
	Status  int
	Message string
}

// handleError is the one place errors become responses: a friendly page inside
// the layout, a small fragment for htmx, or JSON for API clients. Internal
// errors are logged once with the request id and shown without detail.
// Errors raised by the server before routing (a request that timed out or
// whose headers are too large) reach it too: they answer as the API does when
// the request line was an API one, and are logged here, since the request log
// middleware never saw them.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	routed := c.Locals(localRouted) != nil
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if de := fromFiber(fe); de != nil {
			err = de
		}
	}
	isAPI := strings.HasPrefix(c.Path(), api.Prefix+"/") || c.Path() == api.Prefix || strings.HasPrefix(c.Path(), ChannelPrefix) ||
		strings.HasPrefix(c.Path(), WidgetPrefix)
	if !routed {
		if tc, ok := c.Context().Conn().(*timedConn); ok {
			isAPI = tc.isAPI()
		}
		if requestID(c) == "" {
			c.Locals(requestid.ConfigDefault.ContextKey, models.NewID())
		}
		c.Set(fiber.HeaderXRequestID, requestID(c))
		defer s.logRequest(c, time.Now())
	}
	if isAPI {
		return api.WriteError(c, err, s.log, requestID(c))
	}
	code := models.ErrorCode(err)
	status := statusOf(code)
	if code == models.CodeInternal {
		s.log.Error("internal error", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "error", err)
	}
	msg := models.ErrorMessage(err)
	if code == models.CodeInternal {
		msg = "Something went wrong on our side. It has been logged (request " + requestID(c) + ")."
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if code == models.CodeUnavailable {
		s.log.Warn("unavailable", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "error", err)
		if len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
			c.Set(fiber.HeaderRetryAfter, api.RetryAfterUnavailable)
		}
	}
	if !routed {
		// Nothing about the request can be trusted: a plain page, no session.
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(status).SendString(http.StatusText(status) + ": " + msg + "\n")
	}
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Retarget", "#flash")
		c.Set("HX-Reswap", "innerHTML")
		return s.render(c, status, tplErrorFragment, errorPage{Status: status, Message: msg})
	}
	if c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		return c.Status(status).JSON(fiber.Map{"message": msg, "code": api.Code(code)})
	}
	title := http.StatusText(status)
	if rerr := s.render(c, status, tplError, errorPage{Page: s.page(c, title, ""), Status: status, Message: msg}); rerr != nil {
		s.log.Error("render error page", "request_id", requestID(c), "error", rerr)
		return c.Status(status).SendString(msg)
	}
	return nil
}

// badForm turns a body that could not be parsed into a clear invalid-input error.
func badForm(err error) error {
	return models.Errorf(models.CodeInvalid, "The form could not be read: %v", shorten(err.Error(), 200))
}

// shorten cuts s to at most n bytes (whole characters), marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return models.TruncateUTF8(s, n) + "…"
}
