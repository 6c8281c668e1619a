// Package providers turns a bot's model string into the provider that
// answers it: "local" (or "", or "local/…") is the built-in offline provider;
// "<name>/<model>" is the configured provider <name> with that model, and
// "<name>" alone its default model. Configured providers are read from the
// store on every turn, so an edit on the Providers page applies at once, and
// their clients are kept while the provider is unchanged.
package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"parley/app/provider"
	"parley/app/provider/local"
	"parley/app/provider/openai"
	"parley/models"
	"parley/models/store"
)

// TestTimeout bounds a "Test connection" call.
const TestTimeout = 10 * time.Second

// Resolver finds providers for model strings. It is safe for concurrent use;
// its Resolve method is an engine.Resolver.
type Resolver struct {
	store *store.Store
	local provider.Provider
	http  *http.Client
	// retries and retryDelay pass through to openai.Config (0: its defaults).
	retries    int
	retryDelay time.Duration

	mu      sync.Mutex
	clients map[string]cached // by provider id
	lists   map[string]listed // model lists by provider id (Catalog)
}

// cached is a client built for one version of a provider's row.
type cached struct {
	stamp  string
	client *openai.Client
}

// Option adjusts a Resolver.
type Option func(*Resolver)

// WithLocal sets the provider "local" names (default: local.New()).
func WithLocal(p provider.Provider) Option { return func(r *Resolver) { r.local = p } }

// WithHTTPClient sets the HTTP client configured providers are called with
// (default: one without a timeout of its own; each provider's timeout bounds
// its calls).
func WithHTTPClient(c *http.Client) Option { return func(r *Resolver) { r.http = c } }

// WithRetries sets how often a failed call is tried again and the first
// backoff (see openai.Config.MaxRetries and RetryDelay).
func WithRetries(n int, delay time.Duration) Option {
	return func(r *Resolver) { r.retries, r.retryDelay = n, delay }
}

// New makes a Resolver reading configured providers from s.
func New(s *store.Store, opts ...Option) *Resolver {
	r := &Resolver{store: s, clients: map[string]cached{}}
	for _, o := range opts {
		o(r)
	}
	if r.local == nil {
		r.local = local.New()
	}
	return r
}

// NewResolver returns New(s, opts...).Resolve: the function engine.Options.Providers wants.
func NewResolver(s *store.Store, opts ...Option) func(ctx context.Context, model string) (provider.Provider, string, error) {
	return New(s, opts...).Resolve
}

// NotConfiguredError says a model string names a provider nobody configured.
// It wraps provider.ErrNoProvider; its message is fit for the user.
type NotConfiguredError struct {
	Name string
}

// Error implements error.
func (e *NotConfiguredError) Error() string {
	return fmt.Sprintf("no provider named %q is configured (see Providers)", e.Name)
}

// Unwrap makes errors.Is(err, provider.ErrNoProvider) true.
func (e *NotConfiguredError) Unwrap() error { return provider.ErrNoProvider }

// Resolve returns the provider for a bot's model string and the model name to
// send it.
func (r *Resolver) Resolve(ctx context.Context, model string) (provider.Provider, string, error) {
	model = strings.TrimSpace(model)
	name, rest, _ := strings.Cut(model, "/")
	name = strings.ToLower(strings.TrimSpace(name))
	rest = strings.TrimSpace(rest)
	if name == "" || name == models.LocalProvider {
		if rest == "" {
			rest = models.LocalProvider
		}
		return r.local, rest, nil
	}
	p, err := r.store.FindProviderByName(ctx, name)
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, "", &NotConfiguredError{Name: name}
	}
	if err != nil {
		return nil, "", err
	}
	if rest == "" {
		rest = p.DefaultModel
	}
	if rest == "" {
		return nil, "", &provider.Error{Message: fmt.Sprintf("provider %q has no default model: name one in the bot's model, e.g. %q, or set its default model on the Providers page", p.Name, p.Name+"/MODEL")}
	}
	c, err := r.client(p)
	if err != nil {
		return nil, "", err
	}
	return c, rest, nil
}

// client returns the cached client for the provider's current row, building
// (and decrypting the key for) a new one when the row changed.
func (r *Resolver) client(p *models.Provider) (*openai.Client, error) {
	stamp := stampOf(p)
	r.mu.Lock()
	c, ok := r.clients[p.ID]
	r.mu.Unlock()
	if ok && c.stamp == stamp {
		return c.client, nil
	}
	cl, err := r.build(p, 0)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.clients[p.ID] = cached{stamp: stamp, client: cl}
	r.mu.Unlock()
	return cl, nil
}

// stampOf identifies a version of a provider's row: any edit changes it.
func stampOf(p *models.Provider) string {
	enc := ""
	if p.APIKeyEnc != nil {
		enc = *p.APIKeyEnc
	}
	return strings.Join([]string{strconv.FormatInt(p.UpdatedAt.UnixNano(), 10), p.Name, p.Kind, p.BaseURL,
		strconv.Itoa(p.TimeoutSeconds), enc}, "\x00")
}

// build makes a client for p with its decrypted key; timeout 0 means p's own.
func (r *Resolver) build(p *models.Provider, timeout time.Duration) (*openai.Client, error) {
	if p.Kind != models.ProviderKindOpenAI {
		return nil, &provider.Error{Message: fmt.Sprintf("provider %q has the unknown kind %q", p.Name, p.Kind)}
	}
	key, err := r.store.DecryptProviderKey(p)
	if err != nil {
		return nil, &provider.Error{Message: models.ErrorMessage(err), Err: err}
	}
	if timeout == 0 {
		timeout = time.Duration(p.TimeoutSeconds) * time.Second
	}
	return openai.New(openai.Config{
		Name: p.Name, BaseURL: p.BaseURL, APIKey: key, HTTPClient: r.http, Timeout: timeout,
		MaxRetries: r.retries, RetryDelay: r.retryDelay,
	}), nil
}

// Models lists the models the configured provider id serves, within
// TestTimeout: the Providers page's "Test connection". Errors are
// *provider.Error with a message fit for the user (never the key), or store
// errors such as not found.
func (r *Resolver) Models(ctx context.Context, id string) ([]string, error) {
	p, err := r.store.FindProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := r.build(p, TestTimeout)
	if err != nil {
		return nil, err
	}
	return c.Models(ctx)
}

// ModelOption is a model a bot can name, for the bot form's picker.
type ModelOption struct {
	// Value is what the bot's model field holds: "local", "NAME" or "NAME/MODEL".
	Value string
	// Label says what it is (never a key).
	Label string
}

// catalogTTL is how long a provider's model list is kept.
const catalogTTL = 5 * time.Minute

// maxCatalogProviders and maxCatalogModels bound the picker.
const (
	maxCatalogProviders = 50
	maxCatalogModels    = 200
)

// listed is a provider's model list as fetched at one time.
type listed struct {
	stamp  string
	at     time.Time
	models []string
	err    string
}

// Catalog lists the models bots can name: the built-in offline provider,
// then each configured provider's default and the models its /models
// endpoint lists (fetched within a short timeout, kept for five minutes). A
// provider that cannot be reached is still offered by name, labelled so.
func (r *Resolver) Catalog(ctx context.Context) ([]ModelOption, error) {
	out := []ModelOption{{Value: models.LocalProvider, Label: "built in, offline: answers only from datasets and abilities"}}
	ps, _, err := r.store.FindProviders(ctx, models.Page{Limit: maxCatalogProviders, Order: models.OrderAsc})
	if err != nil {
		return nil, err
	}
	// Lists are fetched side by side: a slow provider costs its timeout once.
	lists := make([]listed, len(ps))
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lists[i] = r.listModels(ctx, &ps[i])
		}()
	}
	wg.Wait()
	for i := range ps {
		p, l := &ps[i], lists[i]
		label := "default model of " + p.Name
		if p.DefaultModel != "" {
			label += " (" + p.DefaultModel + ")"
		}
		if l.err != "" {
			label += " — not reachable just now: " + l.err
		}
		out = append(out, ModelOption{Value: p.Name, Label: label})
		for j, m := range l.models {
			if j == maxCatalogModels {
				break
			}
			out = append(out, ModelOption{Value: p.Name + "/" + m, Label: p.Name})
		}
	}
	return out, nil
}

// listModels returns a provider's model list, from the cache while fresh.
func (r *Resolver) listModels(ctx context.Context, p *models.Provider) listed {
	stamp := stampOf(p)
	r.mu.Lock()
	if r.lists == nil {
		r.lists = map[string]listed{}
	}
	l, ok := r.lists[p.ID]
	r.mu.Unlock()
	if ok && l.stamp == stamp && time.Since(l.at) < catalogTTL {
		return l
	}
	l = listed{stamp: stamp, at: time.Now()}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := r.build(p, 3*time.Second)
	if err == nil {
		l.models, err = c.Models(tctx)
	}
	if err != nil {
		l.err = "could not list its models"
		var pe *provider.Error
		if errors.As(err, &pe) {
			l.err = pe.Message
		}
	}
	r.mu.Lock()
	r.lists[p.ID] = l
	r.mu.Unlock()
	return l
}

// Try lists the models an unsaved provider configuration serves, within
// TestTimeout: "Test connection" before saving, with the values typed and
// apiKey (blank: no key). Errors are *provider.Error, fit for the user.
func (r *Resolver) Try(ctx context.Context, p models.Provider, apiKey string) ([]string, error) {
	if p.Kind != models.ProviderKindOpenAI {
		return nil, &provider.Error{Message: fmt.Sprintf("the kind %q is not one Parley knows", p.Kind)}
	}
	c := openai.New(openai.Config{Name: p.Name, BaseURL: p.BaseURL, APIKey: apiKey, HTTPClient: r.http, Timeout: TestTimeout,
		MaxRetries: r.retries, RetryDelay: r.retryDelay})
	return c.Models(ctx)
}
