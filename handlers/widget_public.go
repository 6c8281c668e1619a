package handlers

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"parley/assets"
	"parley/handlers/api"
	"parley/models"
	"parley/models/store"
)

// WidgetPrefix is where the web chat widget's public endpoints live; errors
// there answer JSON, as the API's do.
const WidgetPrefix = "/widget/"

// widgetScriptPath is the widget's script in the embedded assets.
const widgetScriptPath = "js/widget.js"

// widgetScript is the widget's script, its content hash and its gzip form,
// made once at start-up.
type widgetScript struct {
	body, gz []byte
	etag     string
}

func loadWidgetScript(hashes map[string]string) (*widgetScript, error) {
	b, err := fs.ReadFile(assets.FS, widgetScriptPath)
	if err != nil {
		return nil, fmt.Errorf("handlers: widget script: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return &widgetScript{body: b, gz: buf.Bytes(), etag: `"` + hashes[widgetScriptPath] + `"`}, nil
}

// registerWidgetPublic registers the widget's public endpoints: no
// operator session, no cookies read or set, CORS decided per widget.
func (s *Server) registerWidgetPublic() {
	s.public(fiber.MethodGet, "/widget/:file", s.handleWidgetScript)
	s.public(fiber.MethodGet, "/widget/:id/config", s.handleWidgetConfig)
	s.public(fiber.MethodOptions, "/widget/:id/config", s.handleWidgetPreflight)
	s.public(fiber.MethodOptions, "/widget/:id/session", s.handleWidgetPreflight)
	s.public(fiber.MethodPost, "/widget/:id/session", s.handleWidgetSession)
}

// handleWidgetScript handles GET /widget/:id.js: the widget's one script
// (the same for every widget: it reads its id from its own URL), with its
// content hash as ETag, cached for a day and revalidated cheaply after.
func (s *Server) handleWidgetScript(c *fiber.Ctx) error {
	id, ok := strings.CutSuffix(c.Params("file"), ".js")
	if !ok || !models.ValidID(id) {
		return models.Errorf(models.CodeNotFound, "No such widget script: it is /widget/{id}.js.")
	}
	w := s.widgetJS
	c.Set(fiber.HeaderETag, w.etag)
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400, stale-while-revalidate=604800")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if c.Get(fiber.HeaderIfNoneMatch) == w.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Type("js", "utf-8")
	if strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(w.gz)
	}
	return c.Send(w.body)
}

// widgetOrigin loads a widget and reports whether the request's Origin is
// one it allows.
func (s *Server) widgetOrigin(c *fiber.Ctx) (*models.Integration, bool, error) {
	gone := models.Errorf(models.CodeNotFound, "This chat does not exist: its widget was deleted, or the snippet on this page is wrong.")
	it, err := s.store.FindIntegration(c.UserContext(), c.Params("id"))
	if models.ErrorCode(err) == models.CodeNotFound {
		return nil, false, gone
	}
	if err != nil {
		return nil, false, err
	}
	if it.Type != models.IntegrationWidget {
		return nil, false, gone
	}
	return it, models.WidgetOriginAllowed(it.Widget.Origin, c.Get(fiber.HeaderOrigin)), nil
}

// allowWidgetCORS answers the request's origin with CORS headers (never
// with credentials).
func allowWidgetCORS(c *fiber.Ctx) {
	c.Set(fiber.HeaderAccessControlAllowOrigin, c.Get(fiber.HeaderOrigin))
	c.Set(fiber.HeaderAccessControlExposeHeaders, "Retry-After")
	c.Vary(fiber.HeaderOrigin)
}

// handleWidgetPreflight handles OPTIONS /widget/:id/session and /config:
// CORS preflight, allowed only for the widget's origins (the config also
// for others, so the widget can say why it does not start).
func (s *Server) handleWidgetPreflight(c *fiber.Ctx) error {
	c.Vary(fiber.HeaderOrigin)
	_, ok, err := s.widgetOrigin(c)
	if err != nil && models.ErrorCode(err) != models.CodeNotFound {
		return err
	}
	if ok || (err == nil && strings.HasSuffix(c.Path(), "/config")) {
		allowWidgetCORS(c)
		c.Set(fiber.HeaderAccessControlAllowMethods, "GET,POST,OPTIONS")
		c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type,Accept")
		c.Set(fiber.HeaderAccessControlMaxAge, "600")
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// widgetConfigJSON is what a widget shows before any session: its settings
// for an allowed origin, or why it does not start.
type widgetConfigJSON struct {
	Allowed bool   `json:"allowed"`
	Message string `json:"message,omitempty"`
	// Widget is nil when not allowed.
	Widget *widgetSettingsJSON `json:"widget,omitempty"`
}

// widgetSettingsJSON is the part of a widget's settings its script reads.
type widgetSettingsJSON struct {
	Name                string `json:"name"`
	Title               string `json:"title"`
	Intro               string `json:"intro"`
	Initial             string `json:"initial"`
	Placeholder         string `json:"placeholder"`
	Theme               string `json:"theme"`
	Layout              string `json:"layout"`
	Stream              bool   `json:"stream"`
	RestartConversation bool   `json:"restartConversation"`
	ExportConversation  bool   `json:"exportConversation"`
	Language            string `json:"language"`
	PoweredBy           bool   `json:"poweredBy"`
	RequireIdentity     bool   `json:"requireIdentity"`
	ContactCollection   bool   `json:"contactCollection"`
}

func newWidgetSettingsJSON(it *models.Integration) *widgetSettingsJSON {
	w := it.Widget
	return &widgetSettingsJSON{Name: it.Name, Title: w.Title, Intro: w.Intro, Initial: w.Initial, Placeholder: w.Placeholder, Theme: w.Theme,
		Layout: w.Layout, Stream: w.Stream, RestartConversation: w.RestartConversation, ExportConversation: w.ExportConversation,
		Language: w.Language, PoweredBy: w.PoweredBy, RequireIdentity: w.RequireIdentity, ContactCollection: w.ContactCollection}
}

// notAllowedMessage says why a widget does not start on this page.
func notAllowedMessage(it *models.Integration, origin string) string {
	if strings.TrimSpace(it.Widget.Origin) == "" {
		return "This chat is not enabled on any site yet: its owner must add this site's address to the widget's allowed origins in Parley."
	}
	if origin == "" || origin == "null" {
		return "This chat only runs on the sites its owner allowed, and this page did not say which site it is on."
	}
	return fmt.Sprintf("This chat is not enabled on %s: its owner can add it to the widget's allowed origins in Parley.", origin)
}

// handleWidgetConfig handles GET /widget/:id/config: the widget's settings
// for its allowed origins; any other origin may read only why it does not
// start (no settings), so the widget can say so.
func (s *Server) handleWidgetConfig(c *fiber.Ctx) error {
	it, ok, err := s.widgetOrigin(c)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Vary(fiber.HeaderOrigin)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	if !ok {
		return c.JSON(widgetConfigJSON{Message: notAllowedMessage(it, c.Get(fiber.HeaderOrigin))})
	}
	return c.JSON(widgetConfigJSON{Allowed: true, Widget: newWidgetSettingsJSON(it)})
}

// widgetSessionRequest is what the widget sends to start or resume its session.
type widgetSessionRequest struct {
	// Fingerprint is the widget's random id for this browser.
	Fingerprint string `json:"fingerprint"`
	// UserID and Signature are an optional signed identity: the hex
	// HMAC-SHA256 of the user id under the widget's identity secret.
	UserID    string `json:"userId"`
	Signature string `json:"signature"`
	// Restart starts a new conversation.
	Restart bool `json:"restart"`
	// PreviousToken is the token the widget held, if any: when an operator
	// revoked it, the chat has ended and is not silently resumed.
	PreviousToken string `json:"previousToken"`
	// Contact is what the visitor told about themselves, kept on their
	// contact when the widget collects contacts (ignored otherwise).
	Contact *widgetContactJSON `json:"contact"`
}

// widgetContactJSON is the visitor's name and email, both optional.
type widgetContactJSON struct {
	Name  string `json:"name" validate:"max=200"`
	Email string `json:"email" validate:"max=254"`
}

// widgetMessageJSON is a message as the widget shows it.
type widgetMessageJSON struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
}

// widgetSessionJSON answers a widget session: the token and what to show.
type widgetSessionJSON struct {
	// Ended: the previous token was revoked; no new session was made.
	Ended          bool                `json:"ended,omitempty"`
	Message        string              `json:"message,omitempty"`
	Token          string              `json:"token,omitempty"`
	ExpiresAt      *time.Time          `json:"expiresAt,omitempty"`
	ConversationID string              `json:"conversationId,omitempty"`
	ContactID      string              `json:"contactId,omitempty"`
	Created        bool                `json:"created"`
	Messages       []widgetMessageJSON `json:"messages"`
	Widget         *widgetSettingsJSON `json:"widget,omitempty"`
}

// WidgetEndedMessage is what a widget whose token was revoked shows.
const WidgetEndedMessage = "This chat has ended — start a new one."

// handleWidgetSession handles POST /widget/:id/session: for an allowed
// Origin only (CORS for it alone; never cookies), rate-limited per client
// address and per widget, with a signed identity when the widget requires
// one; answers a short-lived token scoped to the end user's conversation,
// its id and its latest messages.
func (s *Server) handleWidgetSession(c *fiber.Ctx) error {
	it, ok, err := s.widgetOrigin(c)
	if err != nil {
		return err
	}
	if !ok {
		return models.Errorf(models.CodeForbidden, "%s", notAllowedMessage(it, c.Get(fiber.HeaderOrigin)))
	}
	allowWidgetCORS(c)
	return s.widgetSession(c, it, "")
}

// widgetSession limits, checks the identity and starts the session;
// preview, when set, is the dashboard preview's fingerprint (an operator's):
// its conversation is a test, and no identity is asked.
func (s *Server) widgetSession(c *fiber.Ctx, it *models.Integration, preview string) error {
	ctx := c.UserContext()
	if err := s.widgetLimit(c, "widget-session:addr:"+c.IP(), s.cfg.WidgetAddressRate, "from this address"); err != nil {
		return err
	}
	if err := s.widgetLimit(c, "widget-session:widget:"+it.ID, s.cfg.WidgetRate, "for this chat"); err != nil {
		return err
	}
	var req widgetSessionRequest
	if err := api.Decode(c, &req); err != nil {
		return err
	}
	in := store.WidgetSessionInput{Fingerprint: strings.TrimSpace(req.Fingerprint), Restart: req.Restart}
	if req.Contact != nil && it.Widget.ContactCollection {
		in.Name, in.Email = strings.TrimSpace(req.Contact.Name), strings.TrimSpace(req.Contact.Email)
	}
	if preview != "" {
		in.Fingerprint, in.Test = preview, true
	} else if req.UserID != "" || req.Signature != "" || it.Widget.RequireIdentity {
		if req.UserID == "" || req.Signature == "" {
			return models.Errorf(models.CodeForbidden, "This chat needs you to be signed in on the site: it did not say who you are.")
		}
		sec, err := s.store.IntegrationSecrets(ctx, it.ID)
		if err != nil {
			return err
		}
		if !models.VerifyIdentity(sec.IdentitySecret, req.UserID, req.Signature) {
			return models.Errorf(models.CodeForbidden, "This chat could not confirm who you are: the site's signature does not match.")
		}
		in.UserID = req.UserID
	}
	if !req.Restart && req.PreviousToken != "" {
		ended, err := s.store.WidgetTokenEnded(ctx, it.ID, req.PreviousToken)
		if err != nil {
			return err
		}
		if ended {
			return c.JSON(widgetSessionJSON{Ended: true, Message: WidgetEndedMessage, Messages: []widgetMessageJSON{}})
		}
	}
	ws, err := s.store.StartWidgetSession(ctx, it, in)
	if err != nil {
		return err
	}
	out := widgetSessionJSON{Token: ws.Token, ExpiresAt: &ws.Session.ExpiresAt, ConversationID: ws.Conversation.ID, ContactID: ws.Contact.ID,
		Created: ws.Created, Messages: make([]widgetMessageJSON, 0, len(ws.Messages)), Widget: newWidgetSettingsJSON(it)}
	for _, m := range ws.Messages {
		out.Messages = append(out.Messages, widgetMessageJSON{ID: m.ID, Type: m.Type, Text: m.Text, CreatedAt: m.CreatedAt})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// widgetLimit counts one session against bucket's per-minute allowance
// (negative: unlimited).
func (s *Server) widgetLimit(c *fiber.Ctx, bucket string, perMinute int, what string) error {
	if perMinute < 0 {
		return nil
	}
	ok, retry, err := s.store.Hit(c.UserContext(), bucket, perMinute, time.Minute)
	if err != nil {
		return err
	}
	if !ok {
		secs := int(retry / time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return models.Errorf(models.CodeTooManyRequests, "Too many chats started %s: try again in %d s.", what, secs)
	}
	return nil
}
