// Package handlers is Parley's HTTP layer: the dashboard's pages and fragments.
// Handlers parse, validate, call the store, and render; errors are returned
// and mapped to responses in one place (errors.go).
package handlers

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/template/html/v2"

	"parley/app/engine"
	"parley/app/live"
	"parley/app/provider"
	"parley/app/provider/local"
	"parley/assets"
	"parley/handlers/api"
	"parley/models"
	"parley/models/store"
	"parley/views"
)

// Options configure the HTTP server.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// BodyLimit is the maximum request body in bytes.
	BodyLimit int
	// SecureCookies: "auto" (Secure when the request came over TLS), "always" or "never".
	SecureCookies string
	// TrustProxy trusts X-Forwarded-* headers from a reverse proxy.
	TrustProxy bool
	// DevTemplates, when set, is a views/ directory reloaded on every render.
	DevTemplates string
	// Version is shown in the footer.
	Version string
	// Engine runs conversation turns; Broker carries their live events.
	Engine *engine.Engine
	Broker *live.Broker
	// FetchClient is the SSRF-guarded HTTP client abilities fetch with (the
	// engine's, so "try it" behaves as a real turn).
	FetchClient *http.Client
	// APISecretRate and APISessionRate are the API requests allowed per minute
	// per API secret and per session token (0: defaults; negative: unlimited).
	APISecretRate  int
	APISessionRate int
	// CheckModel and CheckAbility check at save what only the app can judge —
	// that a model string names a provider that exists; that an ability's
	// action and vault secrets exist — for the dashboard and the API alike.
	// They return invalid-input errors naming the field; nil checks nothing.
	// app/main.go passes providers.Resolver.CheckModel and ability.Check.
	CheckModel   func(ctx context.Context, model string) error
	CheckAbility func(ctx context.Context, a models.Ability) error
}

// Route is one registered route and the permission it requires; the role
// tests walk every route with it.
type Route struct {
	Method string
	Path   string
	// Perm is the permission required; "" with Public false means any signed-in operator.
	Perm   models.Permission
	Public bool
}

// Server is the dashboard's HTTP server.
type Server struct {
	app       *fiber.App
	store     *store.Store
	log       *slog.Logger
	opts      Options
	routes    []Route
	assetHash map[string]string
	setupDone atomic.Bool
	views     *html.Engine
	engine    *engine.Engine
	broker    *live.Broker
	// baseCtx lives as long as the server: background turns and event streams use it.
	baseCtx context.Context
	stop    context.CancelFunc
	// streams ends live event streams first on shutdown, so they do not hold it up.
	streams     context.Context
	stopStreams context.CancelFunc
	turns       sync.WaitGroup
	api         *api.API
}

// New builds the Fiber app with every route.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 4 << 20
	}
	if opts.SecureCookies == "" {
		opts.SecureCookies = "auto"
	}
	if opts.Broker == nil {
		opts.Broker = live.NewBroker()
	}
	if opts.Engine == nil {
		opts.Engine = engine.New(engine.Options{Store: opts.Store, Logger: opts.Logger, Providers: LocalOnly})
	}
	s := &Server{store: opts.Store, log: opts.Logger, opts: opts, engine: opts.Engine, broker: opts.Broker}
	s.baseCtx, s.stop = context.WithCancel(context.Background())
	s.streams, s.stopStreams = context.WithCancel(s.baseCtx)
	hashes, err := assets.Hashes()
	if err != nil {
		return nil, fmt.Errorf("handlers: hash assets: %w", err)
	}
	s.assetHash = hashes

	var engine *html.Engine
	if opts.DevTemplates != "" {
		engine = html.New(opts.DevTemplates, ".html")
		engine.Reload(true)
	} else {
		engine = html.NewFileSystem(http.FS(views.FS), ".html")
	}
	engine.AddFuncMap(s.templateFuncs())
	if err := engine.Load(); err != nil {
		return nil, fmt.Errorf("handlers: load templates: %w", err)
	}
	s.views = engine

	cfg := fiber.Config{
		AppName:                 "Parley",
		ErrorHandler:            s.handleError,
		BodyLimit:               opts.BodyLimit,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            5 * time.Minute, // streamed answers (later) may take long
		IdleTimeout:             2 * time.Minute,
		DisableStartupMessage:   true,
		Immutable:               true, // values from Params/Body are copied, never reused buffers
		EnableTrustedProxyCheck: false,
	}
	if opts.TrustProxy {
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
	}
	s.app = fiber.New(cfg)
	s.app.Use(requestid.New())
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("panic", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "panic", fmt.Sprint(e))
	}}))
	s.app.Use(s.logRequests)
	s.app.Use(securityHeaders)
	s.routesSetup()
	return s, nil
}

// API returns the /api/v1 handlers (their route table feeds the tests and docs).
func (s *Server) API() *api.API { return s.api }

// publishTurnEvent tells live views of a conversation about a turn's event.
func (s *Server) publishTurnEvent(convID string, ev engine.Event) {
	switch ev.Type {
	case "token":
		s.broker.Publish(live.Event{Type: live.EventToken, ConversationID: convID, Token: ev.Token})
	case "message":
		if ev.Message != nil {
			s.broker.Publish(live.Event{Type: live.EventMessage, ConversationID: convID, MessageID: ev.Message.ID})
		}
	}
}

// LocalOnly resolves every model to the built-in offline provider; the app
// wires a resolver that knows the configured providers.
func LocalOnly(_ context.Context, _ string) (provider.Provider, string, error) {
	return localProvider, "local", nil
}

var localProvider = local.New()

// App returns the Fiber app (for Listen, Shutdown and app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Routes returns every registered route with its required permission.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// handle registers a route that requires perm (or, with perm "", any signed-in operator).
func (s *Server) handle(method, path string, perm models.Permission, h fiber.Handler) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Perm: perm})
	s.app.Add(method, path, s.loadSession, s.requireSetup, s.checkCSRF, s.requireOperator(perm), h)
}

// public registers a route anyone may call.
func (s *Server) public(method, path string, h ...fiber.Handler) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Public: true})
	s.app.Add(method, path, h...)
}

func (s *Server) routesSetup() {
	s.public(fiber.MethodGet, "/healthz", s.handleHealthz)
	s.public(fiber.MethodGet, "/assets/:hash/*", s.handleAsset)

	// Sign-in and first-run setup: anonymous, but CSRF-checked.
	s.public(fiber.MethodGet, "/setup", s.loadSession, s.checkCSRF, s.handleSetupForm)
	s.public(fiber.MethodPost, "/setup", s.loadSession, s.checkCSRF, s.handleSetup)
	s.public(fiber.MethodGet, "/login", s.loadSession, s.requireSetup, s.checkCSRF, s.handleLoginForm)
	s.public(fiber.MethodPost, "/login", s.loadSession, s.requireSetup, s.checkCSRF, s.handleLogin)
	s.handle(fiber.MethodPost, "/logout", "", s.handleLogout)

	s.handle(fiber.MethodGet, "/", "", s.handleHome)
	s.registerWorkbench()
	s.registerBots()
	s.registerDatasets()
	s.registerSkillsets()
	s.registerConversations()
	s.registerOperators()
	s.registerSecrets()
	s.registerProviders()

	s.api = api.New(api.Options{Store: s.store, Engine: s.engine, Logger: s.log, Base: s.baseCtx,
		SecretRate: s.opts.APISecretRate, SessionRate: s.opts.APISessionRate, Publish: s.publishTurnEvent,
		CheckModel: s.opts.CheckModel, CheckAbility: s.opts.CheckAbility})
	s.api.Mount(s.app)

	s.app.Use(s.loadSession, func(c *fiber.Ctx) error {
		return models.Errorf(models.CodeNotFound, "There is no page at %s.", c.Path())
	})
}

// handleHealthz handles GET /healthz: 200 when the database answers, 503 when not.
func (s *Server) handleHealthz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("healthz: database unavailable", "error", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "down"})
	}
	return c.JSON(fiber.Map{"status": "ok", "database": s.store.Dialect()})
}

// handleAsset handles GET /assets/:hash/*: embedded static files, cached forever
// because the URL changes with the content.
func (s *Server) handleAsset(c *fiber.Ctx) error {
	path := c.Params("*")
	want, ok := s.assetHash[path]
	if !ok {
		return models.Errorf(models.CodeNotFound, "No such asset.")
	}
	b, err := fs.ReadFile(assets.FS, path)
	if err != nil {
		return models.Errorf(models.CodeNotFound, "No such asset.")
	}
	if c.Params("hash") == want {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	c.Type(extOf(path))
	return c.Send(b)
}

func extOf(path string) string {
	for i := len(path) - 1; i >= 0 && path[i] != '/'; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return ""
}

// AssetURL returns the content-hashed URL of an embedded asset.
func (s *Server) AssetURL(path string) string {
	return "/assets/" + s.assetHash[path] + "/" + path
}

// Shutdown ends live event streams, drains in-flight requests and lets running
// turns finish (their user messages are already stored), waiting at most until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopStreams()
	turnsDone := make(chan struct{})
	go func() { s.turns.Wait(); close(turnsDone) }()
	err := s.app.ShutdownWithContext(ctx)
	select {
	case <-turnsDone:
	case <-ctx.Done():
	}
	s.stop()
	return err
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals(requestid.ConfigDefault.ContextKey).(string); ok {
		return v
	}
	return ""
}

// logRequests writes one log line per request, with its request id.
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response first, so the status is right.
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	if c.Path() == "/healthz" || len(c.Path()) > 7 && c.Path()[:8] == "/assets/" {
		level = slog.LevelDebug
	}
	s.log.Log(c.UserContext(), level, "request", "request_id", requestID(c), "method", c.Method(),
		"path", c.Path(), "status", status, "duration_ms", time.Since(start).Milliseconds(), "ip", c.IP())
	return nil
}

// securityHeaders sets headers that harden every response.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	return c.Next()
}
