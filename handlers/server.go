// Package handlers is Parley's HTTP layer: the dashboard's pages and fragments.
// Handlers parse, validate, call the store, and render; errors are returned
// and mapped to responses in one place (errors.go).
package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/template/html/v2"

	"parley/app/channel"
	"parley/app/config"
	"parley/app/engine"
	"parley/app/engine/ability"
	"parley/app/live"
	"parley/app/metrics"
	"parley/app/providers"
	"parley/app/qa"
	"parley/assets"
	"parley/handlers/api"
	"parley/models"
	"parley/models/store"
	"parley/views"
)

// Options are the server's configuration and collaborators; New refuses
// missing collaborators (defaults live in config, not here).
type Options struct {
	// Config is Parley's configuration: body limit, cookies, proxy, template
	// reloading, API rates and the time limits.
	Config config.Config
	// Version is shown in the footer.
	Version string
	Store   *store.Store
	Logger  *slog.Logger
	// Turns runs every turn (and publishes their events); Broker carries the
	// live events the workbench watches.
	Turns  *engine.Service
	Broker *live.Broker
	// Providers and Abilities are the resolver and loader real turns use, so
	// "Test connection" and "Try it" behave as a turn does.
	Providers *providers.Resolver
	Abilities *ability.Loader
	// Metrics records every request by route and status (nil: metrics off).
	Metrics *metrics.Metrics
	// QA runs test suites and replays in the background.
	QA *qa.Runner
	// Channels receives the platforms' webhooks (Telegram, generic webhook).
	Channels *channel.Service
	// Retriever searches datasets as turns do, for the search page and the
	// API (nil: keyword search only).
	Retriever engine.Retriever
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
	cfg       config.Config
	routes    []Route
	assetHash map[string]string
	setupDone atomic.Bool
	views     *html.Engine
	turns     *engine.Service
	broker    *live.Broker
	channels  *channel.Service
	// streams ends live event streams first on shutdown, so they do not hold it up.
	streams     context.Context
	stopStreams context.CancelFunc
	api         *api.API
	qa          *qa.Runner
	widgetJS    *widgetScript
	// listeners are Serve's, for shutdown.
	listenersMu sync.Mutex
	listeners   []*timedListener
}

// New builds the Fiber app with every route.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Store == nil, opts.Logger == nil, opts.Turns == nil, opts.Broker == nil, opts.Providers == nil, opts.Abilities == nil, opts.QA == nil, opts.Channels == nil:
		return nil, errors.New("handlers: New needs a store, a logger, the turn service, a broker, the provider resolver, the ability loader, the QA runner and the channels")
	}
	cfg := opts.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	if opts.Retriever == nil {
		opts.Retriever = engine.KeywordRetriever(opts.Store)
	}
	s := &Server{store: opts.Store, log: opts.Logger, opts: opts, cfg: cfg, turns: opts.Turns, broker: opts.Broker, qa: opts.QA, channels: opts.Channels}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	hashes, err := assets.Hashes()
	if err != nil {
		return nil, fmt.Errorf("handlers: hash assets: %w", err)
	}
	s.assetHash = hashes
	if s.widgetJS, err = loadWidgetScript(hashes); err != nil {
		return nil, err
	}

	var tpl *html.Engine
	if cfg.DevTemplates != "" {
		tpl = html.New(cfg.DevTemplates, ".html")
		tpl.Reload(true)
	} else {
		tpl = html.NewFileSystem(http.FS(views.FS), ".html")
	}
	tpl.AddFuncMap(s.templateFuncs())
	tpl.AddFuncMap(qaFuncs())
	tpl.AddFuncMap(supportFuncs())
	if err := tpl.Load(); err != nil {
		return nil, fmt.Errorf("handlers: load templates: %w", err)
	}
	s.views = tpl

	fcfg := fiber.Config{
		AppName:        "Parley",
		ErrorHandler:   s.handleError,
		BodyLimit:      cfg.BodyLimit,
		ReadTimeout:    cfg.Timeouts.Read, // from a request's first byte: see Serve
		WriteTimeout:   cfg.Timeouts.Write,
		IdleTimeout:    cfg.Timeouts.Idle,
		ReadBufferSize: 16 << 10, // the longest request line plus headers accepted
		// Multipart bodies are parsed only where a route asks (dataset import):
		// a malformed one elsewhere is then the route's clear error.
		DisablePreParseMultipartForm: true,
		DisableStartupMessage:        true,
		Immutable:                    true, // values from Params/Body are copied, never reused buffers
		EnableTrustedProxyCheck:      false,
	}
	if cfg.TrustProxy {
		fcfg.ProxyHeader = fiber.HeaderXForwardedFor
	}
	s.app = fiber.New(fcfg)
	s.app.Use(requestid.New())
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.Error("panic", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "panic", fmt.Sprint(e))
	}}))
	s.app.Use(s.logRequests)
	s.app.Use(s.securityHeaders)
	s.api, err = api.New(api.Options{Store: s.store, Turns: s.turns, Logger: s.log,
		SecretRate: cfg.APIRate, SessionRate: cfg.SessionRate, ListTimeout: cfg.Timeouts.Turn, QA: opts.QA,
		CheckModel: opts.Providers.CheckModel, CheckAbility: opts.Abilities.Check, SetupTelegram: opts.Channels.SetupTelegram, Retriever: opts.Retriever})
	if err != nil {
		return nil, err
	}
	s.routesSetup()
	return s, nil
}

// API returns the /api/v1 handlers (their route table feeds the tests and docs).
func (s *Server) API() *api.API { return s.api }

// App returns the Fiber app (for Listen, Shutdown and app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Routes returns every registered route with its required permission.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// handle registers a route that requires perm (or, with perm "", any signed-in operator).
func (s *Server) handle(method, path string, perm models.Permission, h fiber.Handler) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Perm: perm})
	s.app.Add(method, path, s.loadSession, s.requireSetup, s.checkCSRF, s.requireOperator(perm), s.audited(method, path, h))
}

// public registers a route anyone may call.
func (s *Server) public(method, path string, h ...fiber.Handler) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Public: true})
	s.app.Add(method, path, h...)
}

func (s *Server) routesSetup() {
	s.public(fiber.MethodGet, "/healthz", s.handleHealthz)
	s.public(fiber.MethodGet, "/assets/:hash/*", s.handleAsset)
	s.public(fiber.MethodGet, "/favicon.ico", func(c *fiber.Ctx) error {
		return c.Redirect(s.AssetURL("img/favicon.svg"), fiber.StatusMovedPermanently)
	})

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
	s.registerExport() // before /conversations/:id
	s.registerConversations()
	s.registerSupport()
	s.registerAudit()
	s.registerAnalytics()
	s.registerOperators()
	s.registerSecrets()
	s.registerSessionTokens()
	s.registerProviders()
	s.registerQA()
	s.registerIntegrations()
	s.registerWidgets()

	s.api.Mount(s.app)
	s.registerChannels()
	s.registerWidgetPublic()

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

// Shutdown ends live event streams, stops accepting connections, closes
// connections that have not begun a request within freshGrace, drains
// in-flight requests, lets QA runs stop after their current turn (they
// resume on the next start) and lets running turns finish (their user
// messages are already stored), waiting at most until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopStreams()
	s.drainFresh()
	err := s.app.ShutdownWithContext(ctx)
	if qerr := s.qa.Shutdown(ctx); qerr != nil && err == nil {
		err = qerr
	}
	if terr := s.turns.Shutdown(ctx); terr != nil && err == nil {
		err = terr
	}
	return err
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals(requestid.ConfigDefault.ContextKey).(string); ok {
		return v
	}
	return ""
}

// localRouted marks a request that went through the middleware (and is
// logged by logRequests), unlike errors the server raises before routing.
const localRouted = "parley.routed"

// logRequests writes one log line per request, with its request id.
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	c.Locals(localRouted, true)
	err := c.Next()
	if err != nil {
		// Let the error handler write the response first, so the status is right.
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	s.logRequest(c, start)
	return nil
}

// logRequest writes the request's log line (health checks and assets at debug level).
func (s *Server) logRequest(c *fiber.Ctx, start time.Time) {
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	if c.Path() == "/healthz" || strings.HasPrefix(c.Path(), "/assets/") {
		level = slog.LevelDebug
	}
	d := time.Since(start)
	s.log.Log(context.Background(), level, "request", "request_id", requestID(c), "method", c.Method(),
		"path", c.Path(), "status", status, "duration_ms", d.Milliseconds(), "ip", c.IP())
	route := ""
	if c.Locals(localRouted) != nil {
		route = c.Route().Path
	}
	s.opts.Metrics.Request(route, c.Method(), status, d)
}

// securityHeaders sets headers that harden every response.
// With Secure cookies (HTTPS), Strict-Transport-Security keeps browsers on
// HTTPS, so a cookie never travels in clear.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	if s.secure(c) {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	return c.Next()
}
