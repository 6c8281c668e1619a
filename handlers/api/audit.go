package api

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// auditedTypes are the first path segments whose changes through the API
// (POST routes) the audit log records, under the dashboard's object types.
var auditedTypes = map[string]string{"bot": "bots", "dataset": "datasets", "skillset": "skillsets", "integration": "integrations"}

// readOnlyPosts are POST routes under an audited type that change nothing.
var readOnlyPosts = map[string]bool{"/dataset/:datasetId/search": true, "/integration/widget/:widgetIntegrationId/setup": true}

// audited wraps the handler of a POST route under an audited type so that a
// change that succeeded (no error, status below 400) is recorded with the
// calling secret as the actor: deletes as delete, creates as create (the id
// from the answer), others as change of the object the path names first.
func (a *API) audited(r Route) fiber.Handler {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	objectType, ok := auditedTypes[parts[0]]
	if r.Method != fiber.MethodPost || !ok || readOnlyPosts[r.Path] {
		return r.handler
	}
	// The object is the path's first parameter (dataset/:datasetId/record/…
	// changes the dataset); a path without one creates, one whose only
	// parameter comes right before "delete" deletes.
	param, params := "", 0
	for _, p := range parts {
		if strings.HasPrefix(p, ":") {
			if params == 0 {
				param = p[1:]
			}
			params++
		}
	}
	last := parts[len(parts)-1]
	action := "change"
	switch {
	case last == "create" && params == 0:
		action = "create"
	case last == "delete" && params == 1 && strings.HasPrefix(parts[len(parts)-2], ":"):
		action = "delete"
	}
	return func(c *fiber.Ctx) error {
		id := ""
		if param != "" {
			id = strings.Clone(c.Params(param))
		}
		if err := r.handler(c); err != nil {
			return err
		}
		if c.Response().StatusCode() >= 400 {
			return nil
		}
		if action == "create" {
			var made struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(c.Response().Body(), &made) == nil && models.ValidID(made.ID) {
				id = made.ID
			}
		}
		e := models.AuditEvent{ActorName: by(c), Action: action, ObjectType: objectType, ObjectID: id,
			Route: "POST " + Prefix + r.Path, IP: c.IP()}
		if err := a.store.RecordAudit(c.UserContext(), e); err != nil {
			a.log.Error("audit log: record", "err", err, "route", e.Route)
		}
		return nil
	}
}
