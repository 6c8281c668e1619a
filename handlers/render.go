package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// Template names: one constant per page or fragment.
const (
	layoutBase       = "layouts/base"
	tplError         = "pages/error"
	tplErrorFragment = "partials/error"
	tplLogin         = "pages/auth/login"
	tplSetup         = "pages/auth/setup"
	tplHome          = "pages/home"
	tplConfirm       = "pages/confirm"

	tplBotsIndex = "pages/bots/index"
	tplBotsForm  = "pages/bots/form"
	tplBotsShow  = "pages/bots/show"
	tplBotAttach = "partials/bot_attachments"

	tplBotVersions    = "pages/bots/versions"
	tplBotVersionShow = "pages/bots/version"
	tplBotVersionDiff = "pages/bots/version_diff"

	tplDatasetsIndex = "pages/datasets/index"
	tplDatasetsForm  = "pages/datasets/form"
	tplDatasetsShow  = "pages/datasets/show"
	tplRecordForm    = "pages/datasets/record_form"

	tplSkillsetsIndex = "pages/skillsets/index"
	tplSkillsetsForm  = "pages/skillsets/form"
	tplSkillsetsShow  = "pages/skillsets/show"
	tplAbilityForm    = "pages/skillsets/ability_form"
	tplAbilityShow    = "pages/skillsets/ability_show"

	tplConversationsIndex = "pages/conversations/index"
	tplConversationsShow  = "pages/conversations/show"
	tplReviewCard         = "partials/review_card"
	tplAuditIndex         = "pages/audit/index"
	tplAnalytics          = "pages/analytics/index"
	tplConversationsNew   = "pages/conversations/new"
	tplTimelineEntry      = "partials/timeline_entry"
	tplChatEntry          = "partials/chat_entry"
	tplOlderMessages      = "partials/older_messages"
	tplTurnPrompt         = "partials/turn_prompt"

	tplOperatorsIndex = "pages/operators/index"
	tplOperatorsForm  = "pages/operators/form"

	tplSecretsIndex   = "pages/secrets/index"
	tplSecretsForm    = "pages/secrets/form"
	tplSecretsCreated = "pages/secrets/created"
)

// Page is what the layout needs; every page's data struct embeds it.
type Page struct {
	Title    string
	Nav      string
	Operator *models.Operator
	CSRF     string
	Flash    string
	Path     string
	Version  string
}

// Can reports whether the signed-in operator may do p (for showing buttons; the
// server checks again on every route).
func (p Page) Can(perm string) bool { return p.Operator.Can(models.Permission(perm)) }

// page builds the layout data for the current request and consumes the flash.
func (s *Server) page(c *fiber.Ctx, title, nav string) Page {
	p := Page{Title: title, Nav: nav, Operator: operator(c), CSRF: csrfToken(c), Path: c.Path(), Version: s.opts.Version}
	if f := c.Cookies(flashCookie); f != "" {
		if v, err := url.QueryUnescape(f); err == nil {
			p.Flash = v
		}
		s.clearCookie(c, flashCookie)
	}
	return p
}

// setFlash leaves a one-time message for the next page.
func setFlash(c *fiber.Ctx, msg string) {
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, MaxAge: 60})
}

// layoutPage gives the layout its data from any page struct that embeds Page.
func (p Page) layoutPage() Page { return p }

type layoutPager interface{ layoutPage() Page }

// layoutData is what the base layout renders: the page's Page and its HTML.
type layoutData struct {
	Page
	Content template.HTML
}

// render renders a template with status: a full page inside the base layout,
// or (names under partials/) a fragment alone. The page is rendered to a buffer
// first, so a template error is a 500 (logged), never half a page.
func (s *Server) render(c *fiber.Ctx, status int, name string, data any) error {
	var body bytes.Buffer
	if err := s.views.Render(&body, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	if !strings.HasPrefix(name, "partials/") {
		lp, ok := data.(layoutPager)
		if !ok {
			return fmt.Errorf("render %s: data %T does not embed Page", name, data)
		}
		content := template.HTML(body.String()) // #nosec: produced by html/template, already escaped
		body.Reset()
		if err := s.views.Render(&body, layoutBase, layoutData{Page: lp.layoutPage(), Content: content}); err != nil {
			return fmt.Errorf("render %s: %w", layoutBase, err)
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(body.Bytes())
}

// pageURL adds a cursor to a list URL that may already have a query.
func pageURL(base, cursor string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "cursor=" + url.QueryEscape(cursor)
}

func (s *Server) templateFuncs() template.FuncMap {
	return template.FuncMap{
		"asset":   s.AssetURL,
		"pageURL": pageURL,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"timep": func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"deref64f": func(p *float64) float64 {
			if p == nil {
				return 0
			}
			return *p
		},
		// optScore shows an optional retrieval score with two decimals, "—" for none.
		"optScore": func(p *float64) string {
			if p == nil {
				return "—"
			}
			return strconv.FormatFloat(*p, 'f', 2, 64)
		},
		"truncate": func(n int, s string) string {
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n]) + "…"
		},
		"deref64": func(n *int64) int64 {
			if n == nil {
				return 0
			}
			return *n
		},
		"deref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		"label":   models.Label,
		"shortId": shortID,
		// dict builds a map for passing several values to a partial.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"contains": func(list []string, s string) bool {
			for _, v := range list {
				if v == s {
					return true
				}
			}
			return false
		},
		"query": func(kv ...string) string {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] != "" {
					v.Set(kv[i], kv[i+1])
				}
			}
			if len(v) == 0 {
				return ""
			}
			return "?" + v.Encode()
		},
		"roles":        func() []string { return models.Roles },
		"messageTypes": func() []string { return models.MessageTypes },
		"plural": func(n int64, one, many string) string {
			if n == 1 {
				return fmt.Sprintf("%d %s", n, one)
			}
			return fmt.Sprintf("%d %s", n, many)
		},
	}
}

// confirmPage asks before something destructive happens; the form posts to Action.
type confirmPage struct {
	Page
	Heading string
	Body    []string
	Action  string
	Button  string
	Cancel  string
}

// pageParams reads the cursor window of a list page from the query string.
func pageParams(c *fiber.Ctx) models.Page {
	return models.Page{Cursor: c.Query("cursor"), Limit: c.QueryInt("limit", models.DefaultPageSize)}
}
