package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

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

// fromFiber maps Fiber's own errors (unknown route, body too large, …) to domain errors.
func fromFiber(fe *fiber.Error) *models.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return models.Errorf(models.CodeNotFound, "Page not found.")
	case fiber.StatusRequestEntityTooLarge:
		return models.Errorf(models.CodeTooLarge, "The request is too large.")
	case fiber.StatusMethodNotAllowed:
		return models.Errorf(models.CodeNotFound, "Page not found.")
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return models.Errorf(models.CodeInvalid, "%s", fe.Message)
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
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if de := fromFiber(fe); de != nil {
			err = de
		}
	}
	if strings.HasPrefix(c.Path(), api.Prefix+"/") || c.Path() == api.Prefix {
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
