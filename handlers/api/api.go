// Package api is Parley's HTTP API under /api/v1, compatible with ChatBotKit's
// v1 REST API so that its official client, @chatbotkit/sdk, works against
// Parley by setting baseUrl. Paths, request fields, response fields and stream
// events follow the SDK's bundled types (dist/esm/types/api/v1.d.ts).
//
// Every route is authorized by a Bearer value: an API secret (full access) or
// a conversation session token (send, receive, complete and message list and
// create of its one conversation). Handlers return errors; WriteError turns
// them into {"message","code"} with the matching status.
package api

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"

	"parley/app/engine"
	"parley/app/qa"
	"parley/models"
	"parley/models/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Session token lifetimes, as ChatBotKit documents them for its sessions:
// at least 30 minutes, at most 24 hours; one hour when not given.
const (
	MinSessionDuration     = 30 * time.Minute
	MaxSessionDuration     = 24 * time.Hour
	DefaultSessionDuration = time.Hour
)

// Options are the API's collaborators and limits; all are required.
type Options struct {
	Store *store.Store
	// Turns runs every turn and publishes every event to live views.
	Turns  *engine.Service
	Logger *slog.Logger
	// SecretRate and SessionRate are the requests allowed per minute for one
	// API secret and one session token (negative: unlimited).
	SecretRate  int
	SessionRate int
	// ListTimeout bounds a streamed listing.
	ListTimeout time.Duration
	// CheckModel and CheckAbility check at save that a model string names a
	// provider that exists and that an ability's action and vault secrets
	// exist (providers.Resolver.CheckModel, ability.Loader.Check); they
	// return invalid-input errors naming the field.
	CheckModel   func(ctx context.Context, model string) error
	CheckAbility func(ctx context.Context, a models.Ability) error
	// QA starts test runs (Parley's extension).
	QA *qa.Runner
	// SetupTelegram sets a Telegram integration up (getMe, setWebhook):
	// the channel service's SetupTelegram.
	SetupTelegram func(ctx context.Context, integrationID string) (*models.Integration, error)
	// Retriever searches datasets as turns do (nil: keyword search only).
	Retriever engine.Retriever
}

// Route is one API operation: the OpenAPI document and the route tests are
// built from the same table the router is.
type Route struct {
	Method      string
	Path        string // Fiber syntax, under Prefix
	OperationID string // ChatBotKit's operation name
	Summary     string
	Tag         string
	// Session: a conversation session token may call it (for its own conversation).
	Session bool
	// Request and Response are zero values of the body types (nil: none).
	Request  any
	Response any
	// Query lists the query parameters (lists: cursor, order, take).
	Query []string
	// Stream: answers application/jsonl when asked.
	Stream bool
	// Extension: Parley's own, not part of ChatBotKit's API (the OpenAPI
	// document marks it x-parley-extension).
	Extension bool
	handler   fiber.Handler
}

// API serves /api/v1.
type API struct {
	store  *store.Store
	turns  *engine.Service
	log    *slog.Logger
	opts   Options
	routes []Route
	// doc is the OpenAPI document, built on first request.
	docOnce sync.Once
	doc     map[string]any
}

// New builds the API and its route table; it refuses missing collaborators.
func New(opts Options) (*API, error) {
	if opts.Store == nil || opts.Turns == nil || opts.Logger == nil || opts.SecretRate == 0 || opts.SessionRate == 0 ||
		opts.ListTimeout <= 0 || opts.CheckModel == nil || opts.CheckAbility == nil || opts.QA == nil || opts.SetupTelegram == nil {
		return nil, errors.New("api: New needs a store, the turn service, a logger, both rate limits, a list timeout, the model and ability checks, the QA runner and Telegram's setup")
	}
	a := &API{store: opts.Store, turns: opts.Turns, log: opts.Logger, opts: opts}
	a.routes = append(append(a.table(), a.channelRoutes()...), a.widgetRoutes()...)
	return a, nil
}

// Routes returns the route table.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// Mount registers every route (and the OpenAPI document) on app.
func (a *API) Mount(app *fiber.App) {
	g := app.Group(Prefix, cors.New(cors.Config{
		// Bearer tokens, never cookies: any origin may call (the session flow
		// runs in end users' browsers on the operator's sites).
		AllowOrigins:  "*",
		AllowMethods:  "GET,POST,OPTIONS",
		AllowHeaders:  "Authorization,Content-Type,Accept,X-Timezone,Idempotency-Key",
		ExposeHeaders: "Retry-After",
		MaxAge:        600,
	}), noStore)
	g.Get("/openapi.json", a.handleOpenAPI)
	for _, r := range a.routes {
		g.Add(r.Method, r.Path, a.authorize(r), a.audited(r))
	}
}

func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// principal is who is calling: an API secret or a conversation session.
type principal struct {
	secret  *models.APISecret
	session *models.ConversationSession
}

const principalKey = "api.principal"

// authorize checks the Bearer value, the route's scope and the rate limit,
// and makes the caller the actor of the request's store writes.
func (a *API) authorize(r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		raw, ok := bearer(c.Get(fiber.HeaderAuthorization))
		if !ok {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="parley"`)
			return models.Errorf(models.CodeUnauthorized, "Send an API secret or a session token as 'Authorization: Bearer <token>'.")
		}
		ctx := c.UserContext()
		var p principal
		if strings.HasPrefix(raw, store.ConversationTokenPrefix) {
			sess, err := a.store.AuthenticateConversationSession(ctx, raw)
			if err != nil {
				return err
			}
			if !r.Session {
				return models.Errorf(models.CodeForbidden, "A session token may only send, receive, complete, list or create messages and vote, in its own conversation.")
			}
			if c.Params("conversationId") != sess.ConversationID {
				return models.Errorf(models.CodeForbidden, "This session token belongs to another conversation.")
			}
			p.session = sess
			if sess.IntegrationID != nil {
				if err := a.widgetCORS(c, *sess.IntegrationID); err != nil {
					return err
				}
			}
			if err := a.limit(c, "session:"+sess.ID, a.opts.SessionRate); err != nil {
				return err
			}
			ctx = store.WithActor(ctx, models.Actor{Kind: models.ActorAPI, ID: "session:" + sess.ID, Name: "session token"})
		} else {
			var sec *models.APISecret
			var err error
			if a.opts.SecretRate < 0 {
				sec, err = a.store.AuthenticateSecret(ctx, raw)
			} else {
				var ok bool
				var retry time.Duration
				sec, ok, retry, err = a.store.AuthenticateSecretHit(ctx, raw, "secret:", a.opts.SecretRate, time.Minute)
				if err == nil && !ok {
					err = tooMany(c, a.opts.SecretRate, retry)
				}
			}
			if err != nil {
				return err
			}
			p.secret = sec
			ctx = store.WithActor(ctx, models.Actor{Kind: models.ActorAPI, ID: sec.ID, Name: "API: " + sec.Name})
		}
		c.SetUserContext(ctx)
		c.Locals(principalKey, p)
		return c.Next()
	}
}

// widgetCORS answers a web chat widget's session token with CORS for that
// widget's allowed origins only: the route-wide "*" is replaced by the
// request's origin when the widget allows it, and a browser on any other
// origin is refused (its request is not run, and it cannot read the answer).
// Without an Origin (not a browser's cross-origin call) no CORS is sent.
func (a *API) widgetCORS(c *fiber.Ctx, integrationID string) error {
	c.Response().Header.Del(fiber.HeaderAccessControlAllowOrigin)
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return nil
	}
	allowed, err := a.store.WidgetOrigins(c.UserContext(), integrationID)
	if err != nil {
		return err
	}
	if !models.WidgetOriginAllowed(allowed, origin) {
		return models.Errorf(models.CodeForbidden, "This chat is not enabled on %s.", models.TruncateUTF8(origin, 200))
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Vary(fiber.HeaderOrigin)
	return nil
}

// limit counts one request against bucket's per-minute allowance.
func (a *API) limit(c *fiber.Ctx, bucket string, perMinute int) error {
	if perMinute < 0 {
		return nil
	}
	ok, retry, err := a.store.Hit(c.UserContext(), bucket, perMinute, time.Minute)
	if err != nil {
		return err
	}
	if !ok {
		return tooMany(c, perMinute, retry)
	}
	return nil
}

// tooMany refuses a request over its per-minute allowance, saying when to retry.
func tooMany(c *fiber.Ctx, perMinute int, retry time.Duration) error {
	secs := int(retry / time.Second) // whole seconds, at least one (Hit rounds up)
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return models.Errorf(models.CodeTooManyRequests, "Too many requests: at most %d a minute. Try again in %d s.", perMinute, secs)
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// by names the caller, for ratings and audit meta.
func by(c *fiber.Ctx) string {
	p, _ := c.Locals(principalKey).(principal)
	switch {
	case p.secret != nil:
		return "api:" + p.secret.Name
	case p.session != nil:
		return "session:" + p.session.ID
	}
	return "api"
}

// ms is a time as ChatBotKit shows it: milliseconds since the epoch.
func ms(t time.Time) int64 { return t.UnixMilli() }

// wantsStream reports whether the client asked for JSON lines.
func wantsStream(c *fiber.Ctx) bool {
	for _, part := range strings.Split(c.Get(fiber.HeaderAccept), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/jsonl") {
			return true
		}
	}
	return false
}
