// Package config reads Parley's configuration from the environment, with
// defaults, and validates it at start-up with a clear message.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Config is everything Parley reads from the environment.
type Config struct {
	Port          int           // PORT: HTTP port (default 3000)
	Host          string        // HOST: listen address (default 127.0.0.1: the setup page is claimable by whoever reaches it first)
	DatabaseURL   string        // DATABASE_URL: postgres://… or sqlite:PATH (default sqlite:data/parley.db)
	SecretKey     string        // PARLEY_SECRET_KEY: key for encrypting provider keys at rest
	LogLevel      string        // LOG_LEVEL: debug, info, warn, error (default info)
	LogFormat     string        // LOG_FORMAT: text or json (default text)
	AdminEmail    string        // PARLEY_ADMIN_EMAIL: creates the first admin headlessly
	AdminPassword string        // PARLEY_ADMIN_PASSWORD: its password (also read by `operator create`)
	BodyLimit     int           // PARLEY_BODY_LIMIT: maximum request body in bytes (default 4 MiB)
	ShutdownGrace time.Duration // PARLEY_SHUTDOWN_GRACE: how long SIGTERM waits for in-flight requests (default 20s)
	SecureCookies string        // PARLEY_SECURE_COOKIES: auto (Secure over TLS/X-Forwarded-Proto https), always, never
	TrustProxy    bool          // PARLEY_TRUST_PROXY: trust X-Forwarded-For/Proto from a reverse proxy (default false)
	DevTemplates  string        // PARLEY_DEV_TEMPLATES: a views/ directory to reload templates from on each request (development)
	FetchAllow    string        // PARLEY_FETCH_ALLOW: hosts, host:port or CIDRs that abilities may fetch although private (comma-separated)
	APIRate       int           // PARLEY_API_RATE: API requests per minute per API secret (default 1200; "off" for none)
	SessionRate   int           // PARLEY_SESSION_RATE: API requests per minute per session token (default 120; "off" for none)
	// WidgetAddressRate (PARLEY_WIDGET_ADDRESS_RATE) and WidgetRate
	// (PARLEY_WIDGET_RATE) are the web chat widget sessions a minute allowed
	// per client address and per widget (defaults 30 and 600; "off" for none).
	WidgetAddressRate int
	WidgetRate        int
	Timeouts          Timeouts // the server's time limits (DefaultTimeouts)
	MetricsAddr       string   // PARLEY_METRICS_ADDR: host:port of a separate listener for /metrics (default off)
	MetricsToken      string   // PARLEY_METRICS_TOKEN: a Bearer token /metrics then requires (default none)
	// PublicURL (PARLEY_PUBLIC_URL) is where the outside world reaches this
	// server, an absolute http(s) URL: Telegram's webhook is set to
	// PublicURL + /channels/telegram/{integrationId}. Empty: channels that
	// need it cannot be set up.
	PublicURL string
	// TelegramAPIURL (PARLEY_TELEGRAM_API_URL) is the Telegram Bot API's
	// root (default DefaultTelegramAPIURL; tests point it at a fake).
	TelegramAPIURL string
	// Channels are the channels' limits (DefaultChannels).
	Channels Channels
	// ModerationWords (PARLEY_MODERATION_WORDS, comma-separated) are the
	// words and phrases that flag a message, case-insensitively and as whole
	// words, for a bot with moderation on whose provider has no moderation
	// endpoint (default DefaultModerationWords).
	ModerationWords []string
}

// Timeouts are the server's time limits. They are one set because they
// depend on each other: a streamed answer and a live event stream are each
// one response, so both must end before the write timeout cuts them.
type Timeouts struct {
	// Read bounds reading one request, from its first byte to its last.
	Read time.Duration
	// Idle bounds how long a connection may wait for a request: before its
	// first one (browsers open sockets ahead of time) as between requests.
	Idle time.Duration
	// Turn bounds one turn of the bot (model, abilities, storing), whoever waits for it.
	Turn time.Duration
	// Stream is how long a live event stream (SSE) lasts before the browser
	// reconnects by itself, so connections are recycled.
	Stream time.Duration
	// Write bounds writing one response, streamed ones included.
	Write time.Duration
}

// DefaultTimeouts are the time limits Parley runs with.
var DefaultTimeouts = Timeouts{
	Read:   30 * time.Second,
	Idle:   2 * time.Minute,
	Turn:   5 * time.Minute,
	Stream: 10 * time.Minute,
	Write:  10*time.Minute + time.Minute,
}

// DefaultTelegramAPIURL is the Telegram Bot API's root.
const DefaultTelegramAPIURL = "https://api.telegram.org"

// Channels are the limits of channel processing and delivery: one set of
// named values, so the queue, the service and the docs agree.
type Channels struct {
	// EventWorkers and DeliveryWorkers bound the inbound events processed
	// and the replies sent at once, per instance.
	EventWorkers    int
	DeliveryWorkers int
	// BodyLimit bounds a webhook request's body (platforms send small JSON).
	BodyLimit int
	// DeliveryRetries bounds the retries of one reply (429, 5xx, network
	// errors); then it is failed, visibly in the audit.
	DeliveryRetries int
	// RetryBase is the first retry's wait, doubled each time up to RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration
	// TypingEvery refreshes Telegram's "typing…" while the bot answers
	// (Telegram shows it for about five seconds).
	TypingEvery time.Duration
	// DraftEvery is how often a streamed answer's draft is updated.
	DraftEvery time.Duration
	// WaitSafetyNet is how long after a webhook event sent with ?wait=1 its
	// job runs anyway, should the request that waits for it be gone.
	WaitSafetyNet time.Duration
}

// DefaultChannels are the channel limits Parley runs with.
var DefaultChannels = Channels{
	EventWorkers:    16,
	DeliveryWorkers: 8,
	BodyLimit:       1 << 20,
	DeliveryRetries: 8,
	RetryBase:       time.Second,
	RetryMax:        5 * time.Minute,
	TypingEvery:     4 * time.Second,
	DraftEvery:      700 * time.Millisecond,
	WaitSafetyNet:   time.Minute,
}

// DefaultModerationWords is the word list moderation checks when
// PARLEY_MODERATION_WORDS is unset: a short list of unambiguous requests for
// harm, meant to be replaced by the operator's own.
var DefaultModerationWords = []string{"kill yourself", "kys", "build a bomb", "make a bomb", "child porn", "child pornography"}

// Limits of the moderation word list.
const (
	maxModerationWords   = 1000
	maxModerationWordLen = 100
)

// parseWords splits a comma-separated list, trimming each entry (empty
// entries are kept, for Validate to point at).
func parseWords(v string) []string {
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.Join(strings.Fields(parts[i]), " ")
	}
	return parts
}

// checkWords reports entries of the moderation word list that cannot be
// matched as whole words.
func checkWords(words []string) error {
	const name = "PARLEY_MODERATION_WORDS"
	if len(words) == 0 {
		return errors.New(name + " must list at least one word or phrase")
	}
	if len(words) > maxModerationWords {
		return fmt.Errorf("%s lists %d entries; at most %d are allowed", name, len(words), maxModerationWords)
	}
	var errs []error
	for i, w := range words {
		r := []rune(w)
		switch {
		case w == "":
			errs = append(errs, fmt.Errorf("%s: entry %d is empty (separate words or phrases with single commas)", name, i+1))
		case len(r) > maxModerationWordLen:
			errs = append(errs, fmt.Errorf("%s: entry %d is longer than %d characters", name, i+1, maxModerationWordLen))
		case !wordRune(r[0]) || !wordRune(r[len(r)-1]):
			errs = append(errs, fmt.Errorf("%s: entry %d (%q) must begin and end with a letter or digit, as it is matched as a whole word", name, i+1, w))
		case strings.ContainsFunc(w, unicode.IsControl) || !utf8.ValidString(w):
			errs = append(errs, fmt.Errorf("%s: entry %d has control characters or invalid UTF-8", name, i+1))
		}
	}
	return errors.Join(errs...)
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Check reports timeouts that do not agree: a turn streamed as an answer
// and a live event stream must both end before the write timeout cuts them.
func (t Timeouts) Check() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read", t.Read}, {"idle", t.Idle}, {"turn", t.Turn}, {"stream", t.Stream}, {"write", t.Write}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("the %s timeout must be positive", d.name))
		}
	}
	if t.Turn+time.Minute > t.Write {
		errs = append(errs, fmt.Errorf("the write timeout (%s) must exceed the turn timeout (%s) by a minute at least", t.Write, t.Turn))
	}
	if t.Stream+30*time.Second > t.Write {
		errs = append(errs, fmt.Errorf("the write timeout (%s) must exceed the live stream lifetime (%s) by 30s at least", t.Write, t.Stream))
	}
	return errors.Join(errs...)
}

// Load reads the environment (through getenv, so tests can fake it) and validates.
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Config{
		Port:          3000,
		Host:          strings.TrimSpace(getenv("HOST")),
		DatabaseURL:   strings.TrimSpace(getenv("DATABASE_URL")),
		SecretKey:     getenv("PARLEY_SECRET_KEY"),
		LogLevel:      strings.ToLower(strings.TrimSpace(getenv("LOG_LEVEL"))),
		LogFormat:     strings.ToLower(strings.TrimSpace(getenv("LOG_FORMAT"))),
		AdminEmail:    strings.TrimSpace(getenv("PARLEY_ADMIN_EMAIL")),
		AdminPassword: getenv("PARLEY_ADMIN_PASSWORD"),
		BodyLimit:     4 << 20,
		ShutdownGrace: 20 * time.Second,
		SecureCookies: strings.ToLower(strings.TrimSpace(getenv("PARLEY_SECURE_COOKIES"))),
		DevTemplates:  strings.TrimSpace(getenv("PARLEY_DEV_TEMPLATES")),
		FetchAllow:    strings.TrimSpace(getenv("PARLEY_FETCH_ALLOW")),
		Timeouts:      DefaultTimeouts,
		MetricsAddr:   strings.TrimSpace(getenv("PARLEY_METRICS_ADDR")),
		MetricsToken:  strings.TrimSpace(getenv("PARLEY_METRICS_TOKEN")),
		PublicURL:     strings.TrimRight(strings.TrimSpace(getenv("PARLEY_PUBLIC_URL")), "/"),
		Channels:      DefaultChannels,
	}
	c.TelegramAPIURL = strings.TrimRight(strings.TrimSpace(getenv("PARLEY_TELEGRAM_API_URL")), "/")
	if c.TelegramAPIURL == "" {
		c.TelegramAPIURL = DefaultTelegramAPIURL
	}
	c.ModerationWords = slices.Clone(DefaultModerationWords)
	if v := getenv("PARLEY_MODERATION_WORDS"); strings.TrimSpace(v) != "" {
		c.ModerationWords = parseWords(v)
	}

	var errs []error
	if v := strings.TrimSpace(getenv("PORT")); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("PORT must be a number from 0 to 65535, got %q", v))
		}
		c.Port = p
	}
	if v := strings.TrimSpace(getenv("PARLEY_BODY_LIMIT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1024 {
			errs = append(errs, fmt.Errorf("PARLEY_BODY_LIMIT must be a number of bytes of at least 1024, got %q", v))
		}
		c.BodyLimit = n
	}
	for _, r := range []struct {
		name string
		dst  *int
		def  int
	}{{"PARLEY_API_RATE", &c.APIRate, 1200}, {"PARLEY_SESSION_RATE", &c.SessionRate, 120},
		{"PARLEY_WIDGET_ADDRESS_RATE", &c.WidgetAddressRate, 30}, {"PARLEY_WIDGET_RATE", &c.WidgetRate, 600}} {
		*r.dst = r.def
		v := strings.ToLower(strings.TrimSpace(getenv(r.name)))
		switch {
		case v == "":
		case v == "off":
			*r.dst = -1
		default:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("%s must be a number of requests per minute of at least 1, or off, got %q", r.name, v))
			}
			*r.dst = n
		}
	}
	if v := strings.TrimSpace(getenv("PARLEY_SHUTDOWN_GRACE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("PARLEY_SHUTDOWN_GRACE must be a duration such as 20s, got %q", v))
		}
		c.ShutdownGrace = d
	}
	if v := strings.TrimSpace(getenv("PARLEY_TRUST_PROXY")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("PARLEY_TRUST_PROXY must be true or false, got %q", v))
		}
		c.TrustProxy = b
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.SecureCookies == "" {
		c.SecureCookies = "auto"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:data/parley.db"
	}
	if c.Host == "" {
		// Loopback until told otherwise: the first visitor of the setup page
		// becomes admin, so a fresh install must not be reachable by others.
		c.Host = "127.0.0.1"
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Validate checks values that have a fixed set of choices or a form to keep.
func (c Config) Validate() error {
	var errs []error
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT must be text or json, got %q", c.LogFormat))
	}
	switch c.SecureCookies {
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("PARLEY_SECURE_COOKIES must be auto, always or never, got %q", c.SecureCookies))
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		errs = append(errs, errors.New("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (e.g. sqlite:data/parley.db)"))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("PARLEY_METRICS_ADDR must be host:port, such as 127.0.0.1:9090, got %q", c.MetricsAddr))
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, errors.New("PARLEY_METRICS_TOKEN must be at least 16 characters"))
	}
	if err := c.Timeouts.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, errors.New("PARLEY_SECRET_KEY must be at least 32 characters"))
	}
	if err := checkWords(c.ModerationWords); err != nil {
		errs = append(errs, err)
	}
	if c.PublicURL != "" {
		if err := checkBaseURL("PARLEY_PUBLIC_URL", c.PublicURL, "https://parley.example.com"); err != nil {
			errs = append(errs, err)
		}
	}
	if err := checkBaseURL("PARLEY_TELEGRAM_API_URL", c.TelegramAPIURL, DefaultTelegramAPIURL); err != nil {
		errs = append(errs, err)
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") && c.AdminEmail != "" {
		errs = append(errs, errors.New("PARLEY_ADMIN_EMAIL needs PARLEY_ADMIN_PASSWORD too"))
	}
	return errors.Join(errs...)
}

// checkBaseURL reports a URL that is not an absolute http(s) URL of a host
// (no credentials, query or fragment), naming the variable and an example.
func checkBaseURL(name, raw, example string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s must be an absolute http or https URL such as %s, got %q", name, example, raw)
	}
	return nil
}

// Addr is the listen address.
func (c Config) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }
