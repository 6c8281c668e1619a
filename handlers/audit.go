package handlers

import (
	"context"
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

// auditEvent is an entry of the audit log for an operator action: the
// signed-in operator, the route, and the client's address.
func auditEvent(c *fiber.Ctx, action, objectType, objectID, detail string) models.AuditEvent {
	e := models.AuditEvent{Action: action, ObjectType: objectType, ObjectID: objectID, Detail: detail,
		Route: c.Method() + " " + c.Route().Path, IP: c.IP()}
	if op := operator(c); op != nil {
		id := op.ID
		e.ActorID, e.ActorName = &id, op.Email
	}
	return e
}

// auditedOutside are the POST routes under an audited type that call
// outside the database (a provider, an ability's endpoint, Telegram, an
// engine turn): they do not run in one transaction with their entry (on
// SQLite it would hold the write lock for the call), and their entry is
// written after them.
var auditedOutside = map[string]bool{
	"/providers/test": true, "/providers/:id/test": true, "/skillsets/:id/abilities/:abilityId/try": true,
	"/bots/:id/test": true, "/datasets/:id/checks/run": true, "/integrations/:id/setup": true,
}

// audited wraps the handler of a POST route under an audited type so that a
// change that succeeded (no error, status below 400) is recorded: deletes
// as delete, routes without an id as create, others as change. The handler
// and its entry run in one transaction (store.Audited): a change is never
// kept without its entry, a failed entry undoes the change (the operator
// sees an error, not the handler's answer). A failed request (an error) is
// rolled back; a refused one (a 4xx form) is recorded nowhere.
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
	entry := func(c *fiber.Ctx, id string) *models.AuditEvent {
		if c.Response().StatusCode() >= 400 {
			return nil
		}
		if id == "" {
			id = redirectedID(c)
		}
		e := auditEvent(c, action, parts[0], id, "")
		return &e
	}
	if auditedOutside[path] {
		return func(c *fiber.Ctx) error {
			id := strings.Clone(c.Params("id"))
			if err := h(c); err != nil {
				return err
			}
			if e := entry(c, id); e != nil {
				if err := s.store.RecordAudit(c.UserContext(), *e); err != nil {
					s.log.Error("audit log: record", "err", err, "action", e.Action, "object_type", e.ObjectType, "object_id", e.ObjectID)
				}
			}
			return nil
		}
	}
	return func(c *fiber.Ctx) error {
		id := strings.Clone(c.Params("id"))
		outer := c.UserContext()
		handled := false
		err := s.store.Audited(outer, func(ctx context.Context) (*models.AuditEvent, error) {
			c.SetUserContext(ctx)
			defer c.SetUserContext(outer)
			if err := h(c); err != nil {
				return nil, err
			}
			handled = true
			return entry(c, id), nil
		})
		if err != nil && handled {
			// The entry (or the commit) failed after the handler answered:
			// its change is undone, so its answer must not reach the operator.
			c.Response().Reset()
		}
		return err
	}
}

// redirectedID is the id of what a create made, read from where it redirects:
// /bots/<id>, /widgets/<id>/created.
func redirectedID(c *fiber.Ctx) string {
	loc := string(c.Response().Header.Peek(fiber.HeaderLocation))
	if loc == "" {
		loc = string(c.Response().Header.Peek("HX-Redirect"))
	}
	loc, _, _ = strings.Cut(loc, "?")
	segs := strings.Split(strings.Trim(loc, "/"), "/")
	for i := len(segs) - 1; i >= 1; i-- {
		if models.ValidID(segs[i]) {
			return segs[i]
		}
	}
	return ""
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
