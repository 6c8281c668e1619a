package handlers

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// auditedTypes are the first path segments whose changes (POST routes) the
// audit log records.
var auditedTypes = map[string]bool{"bots": true, "datasets": true, "skillsets": true, "integrations": true,
	"widgets": true, "operators": true, "secrets": true, "vault": true, "providers": true, "session-tokens": true}

// registerAudit registers the admin's audit log page.
func (s *Server) registerAudit() {
	s.handle(fiber.MethodGet, "/audit", models.PermAdmin, s.handleAuditIndex)
}

// audit records an operator action in the audit log: the signed-in
// operator, the route, and the client's address. A failure to record is
// logged (the action itself has happened).
func (s *Server) audit(c *fiber.Ctx, action, objectType, objectID, detail string) {
	e := models.AuditEvent{Action: action, ObjectType: objectType, ObjectID: objectID, Detail: detail,
		Route: c.Method() + " " + c.Route().Path, IP: c.IP()}
	if op := operator(c); op != nil {
		id := op.ID
		e.ActorID, e.ActorName = &id, op.Email
	}
	if err := s.store.RecordAudit(c.UserContext(), e); err != nil {
		s.log.Error("audit log: record", "err", err, "action", action, "object_type", objectType, "object_id", objectID)
	}
}

// audited wraps the handler of a POST route under an audited type so that a
// change that succeeded (no error, status below 400) is recorded: deletes
// as delete, routes without an id as create, others as change.
func (s *Server) audited(method, path string, h fiber.Handler) fiber.Handler {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if method != fiber.MethodPost || !auditedTypes[parts[0]] {
		return h
	}
	action := "change"
	switch {
	case parts[len(parts)-1] == "delete":
		action = "delete"
	case len(parts) == 1:
		action = "create"
	}
	return func(c *fiber.Ctx) error {
		id := strings.Clone(c.Params("id"))
		if err := h(c); err != nil {
			return err
		}
		if c.Response().StatusCode() >= 400 {
			return nil
		}
		if id == "" {
			// A create redirects to what it made: /bots/<id>, /widgets/<id>/created.
			loc := string(c.Response().Header.Peek(fiber.HeaderLocation))
			if loc == "" {
				loc = string(c.Response().Header.Peek("HX-Redirect"))
			}
			loc, _, _ = strings.Cut(loc, "?")
			segs := strings.Split(strings.Trim(loc, "/"), "/")
			for i := len(segs) - 1; i >= 1 && id == ""; i-- {
				if models.ValidID(segs[i]) {
					id = segs[i]
				}
			}
		}
		s.audit(c, action, parts[0], id, "")
		return nil
	}
}

type auditIndexPage struct {
	Page
	Events    []models.AuditEvent
	Types     []string
	Operators []models.Operator
	Type      string
	Action    string
	Actor     string
	From, To  string
	Errors    map[string]string
	Next      string
	Cursor    string
	PagerBase string
}

// handleAuditIndex handles GET /audit: the audit log, newest first, filtered
// by object type, action, operator and dates (kept in the URL).
func (s *Server) handleAuditIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	d := auditIndexPage{Page: s.page(c, "Audit log", "audit"), Types: models.AuditObjectTypes, Cursor: p.Cursor,
		Type: strings.Clone(c.Query("type")), Action: strings.Clone(c.Query("action")), Actor: strings.Clone(c.Query("actor")),
		From: strings.Clone(c.Query("from")), To: strings.Clone(c.Query("to"))}
	f := models.AuditFilter{Page: p, ObjectType: d.Type, Action: d.Action, ActorID: d.Actor}
	errs := map[string]string{}
	if d.Actor != "" && !models.ValidID(d.Actor) {
		errs["actor"], f.ActorID = "Choose an operator from the list.", ""
	}
	since, until, err := dateRange(d.From, d.To)
	if fe := models.ErrorFields(err); fe != nil {
		for k, v := range fe {
			errs[k] = v
		}
	} else {
		f.Since, f.Until = since, until
	}
	status := fiber.StatusOK
	if len(errs) > 0 {
		d.Errors, status = errs, fiber.StatusUnprocessableEntity
	}
	ctx := c.UserContext()
	if d.Events, d.Next, err = s.store.FindAuditEvents(ctx, f); err != nil {
		return err
	}
	if d.Operators, _, err = s.store.FindOperators(ctx, models.Page{Limit: filterOptionLimit, Order: models.OrderAsc}); err != nil {
		return err
	}
	q := c.Request().URI().QueryArgs()
	base := "/audit"
	v := []string{}
	for _, k := range []string{"type", "action", "actor", "from", "to"} {
		if _, bad := errs[k]; !bad && len(q.Peek(k)) > 0 {
			v = append(v, k+"="+urlEscape(string(q.Peek(k))))
		}
	}
	if len(v) > 0 {
		base += "?" + strings.Join(v, "&")
	}
	d.PagerBase = base
	return s.render(c, status, tplAuditIndex, d)
}

func urlEscape(s string) string { return url.QueryEscape(s) }
