package api

import (
	"context"
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
		// The handler and its entry run in one transaction: a change is never
		// kept without its entry, a failed entry undoes it; a failed request
		// (an error) is rolled back, a refused one (a 4xx) recorded nowhere.
		outer := c.UserContext()
		handled := false
		err := a.store.Audited(outer, func(ctx context.Context) (*models.AuditEvent, error) {
			c.SetUserContext(ctx)
			defer c.SetUserContext(outer)
			if err := r.handler(c); err != nil {
				return nil, err
			}
			handled = true
			if c.Response().StatusCode() >= 400 {
				return nil, nil
			}
			if action == "create" {
				var made struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(c.Response().Body(), &made) == nil && models.ValidID(made.ID) {
					id = made.ID
				}
			}
			return &models.AuditEvent{ActorName: by(c), Action: action, ObjectType: objectType, ObjectID: id,
				Route: "POST " + Prefix + r.Path, IP: c.IP()}, nil
		})
		if err != nil && handled {
			c.Response().Reset() // its change is undone: not its answer
		}
		return err
	}
}
