package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// IntegrationWidget is the web chat widget: one script tag on the sites its
// allowed origins name.
const IntegrationWidget = "widget"

// Widget limits and defaults.
const (
	// MaxWidgetOrigins bounds a widget's allowed origins.
	MaxWidgetOrigins = 100
	// DefaultWidgetTokenLifetime is how long a widget's session token lasts
	// when the integration does not say (seconds): short, since the widget
	// renews it by itself.
	DefaultWidgetTokenLifetime = 15 * 60
	// MinWidgetTokenLifetime and MaxWidgetTokenLifetime bound it (seconds).
	MinWidgetTokenLifetime = 60
	MaxWidgetTokenLifetime = 24 * 60 * 60
	// IdentitySecretPrefix starts every widget identity secret.
	IdentitySecretPrefix = "wids_"
	// MaxWidgetUserID bounds a signed identity's user id.
	MaxWidgetUserID = 150
)

// Widget themes and layouts.
const (
	WidgetThemeLight   = "light"
	WidgetThemeDark    = "dark"
	WidgetThemeAuto    = "auto"
	WidgetLayoutBubble = "bubble"
	WidgetLayoutInline = "inline"
)

// WidgetSettings are a web chat widget's settings, named as ChatBotKit's
// widget integration names them, plus Parley's identity and token settings.
type WidgetSettings struct {
	Title string `json:"title" gorm:"size:200;not null" validate:"max=200"`
	Intro string `json:"intro" gorm:"type:text;not null" validate:"max=4000"`
	// Initial is the bot's first message, shown before the user writes.
	Initial     string `json:"initial" gorm:"type:text;not null" validate:"max=4000"`
	Placeholder string `json:"placeholder" gorm:"size:200;not null" validate:"max=200"`
	Theme       string `json:"theme" gorm:"size:10;not null" validate:"omitempty,oneof=light dark auto"`
	Layout      string `json:"layout" gorm:"size:10;not null" validate:"omitempty,oneof=bubble inline"`
	// Origin lists the sites allowed to embed the widget, one per line
	// (scheme://host[:port], *.example.com for its subdomains); empty:
	// none is, and every session is refused.
	Origin              string `json:"origin" gorm:"type:text;not null" validate:"max=20000"`
	Stream              bool   `json:"stream" gorm:"not null"`
	RestartConversation bool   `json:"restartConversation" gorm:"not null"`
	ExportConversation  bool   `json:"exportConversation" gorm:"not null"`
	ContactCollection   bool   `json:"contactCollection" gorm:"not null"`
	Language            string `json:"language" gorm:"size:35;not null" validate:"max=35"`
	PoweredBy           bool   `json:"poweredBy" gorm:"not null"`
	// RequireIdentity refuses sessions without a user id signed with the
	// integration's identity secret.
	RequireIdentity bool `json:"requireIdentity" gorm:"not null"`
	// TokenLifetime is how long a session token lasts, in seconds.
	TokenLifetime int64 `json:"tokenLifetime" gorm:"not null"`
}

var languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// NormalizeWidget trims the settings and fills the defaults (theme auto,
// layout bubble, the default token lifetime); origins are rewritten in
// their normal form when they all parse.
func NormalizeWidget(w *WidgetSettings) {
	w.Title = strings.TrimSpace(w.Title)
	w.Intro = strings.TrimSpace(w.Intro)
	w.Initial = strings.TrimSpace(w.Initial)
	w.Placeholder = strings.TrimSpace(w.Placeholder)
	w.Theme = strings.ToLower(strings.TrimSpace(w.Theme))
	w.Layout = strings.ToLower(strings.TrimSpace(w.Layout))
	w.Language = strings.TrimSpace(w.Language)
	if w.Theme == "" {
		w.Theme = WidgetThemeAuto
	}
	if w.Layout == "" {
		w.Layout = WidgetLayoutBubble
	}
	if w.TokenLifetime == 0 {
		w.TokenLifetime = DefaultWidgetTokenLifetime
	}
	if list, err := ParseOrigins(w.Origin); err == nil {
		w.Origin = list.String()
	}
}

// checkWidget adds the widget's own field errors to fields.
func checkWidget(w WidgetSettings, fields map[string]string) {
	if _, err := ParseOrigins(w.Origin); err != nil {
		fields["origin"] = ErrorMessage(err)
	}
	if w.Language != "" && !languageRE.MatchString(w.Language) {
		fields["language"] = "Language must be a language tag such as en or pt-BR."
	}
	if w.TokenLifetime < MinWidgetTokenLifetime || w.TokenLifetime > MaxWidgetTokenLifetime {
		fields["tokenLifetime"] = fmt.Sprintf("Session token lifetime must be between %d and %d seconds.", MinWidgetTokenLifetime, MaxWidgetTokenLifetime)
	}
}

// Origin is one allowed origin: a scheme, a lower-case host (Wildcard: any
// subdomain of Host, not Host itself) and an explicit port.
type Origin struct {
	Scheme   string
	Host     string
	Port     int
	Wildcard bool
}

// String returns the origin in its normal form: the default port left out.
func (o Origin) String() string {
	h := o.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if o.Wildcard {
		h = "*." + h
	}
	if o.Port != defaultPort(o.Scheme) {
		h += ":" + strconv.Itoa(o.Port)
	}
	return o.Scheme + "://" + h
}

// Origins is a parsed list of allowed origins.
type Origins []Origin

// String returns the list one origin a line.
func (l Origins) String() string {
	out := make([]string, len(l))
	for i, o := range l {
		out[i] = o.String()
	}
	return strings.Join(out, "\n")
}

func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

var hostLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ParseOrigin parses an origin as a browser sends it or a builder writes
// it (scheme://host[:port], a trailing slash allowed; with allowWildcard a
// host may start with "*."), normalised: scheme and host in lower case, the
// port explicit. Errors are invalid and say what is wrong.
func ParseOrigin(raw string, allowWildcard bool) (Origin, error) {
	s := strings.TrimSpace(raw)
	bad := func(why string) (Origin, error) {
		return Origin{}, Errorf(CodeInvalid, "Origin %q %s: write it as https://example.com, with a port if not the default one.", raw, why)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad("has no scheme")
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return bad("is not http or https")
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return bad("has no host")
	}
	if strings.ContainsAny(rest, "/?#@\\ ") {
		return bad("has more than a scheme, host and port")
	}
	o := Origin{Scheme: scheme, Port: defaultPort(scheme)}
	if allowWildcard && strings.HasPrefix(rest, "*.") {
		o.Wildcard = true
		rest = rest[2:]
	}
	u, err := url.Parse(scheme + "://" + rest)
	if err != nil || u.Host == "" {
		return bad("is not a valid origin")
	}
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port")
		}
		o.Port = n
	} else if strings.HasSuffix(rest, ":") {
		return bad("has an empty port")
	}
	if ip := net.ParseIP(host); ip != nil {
		if o.Wildcard {
			return bad("puts a wildcard on an IP address")
		}
		o.Host = ip.String()
		return o, nil
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	for _, l := range labels {
		if len(l) > 63 || !hostLabelRE.MatchString(l) {
			return bad("has an invalid host name")
		}
	}
	if o.Wildcard && len(labels) < 2 && host != "localhost" {
		return bad("puts a wildcard on a whole top-level domain")
	}
	o.Host = strings.Join(labels, ".")
	return o, nil
}

// ParseOrigins parses a widget's allowed origins, one per line (commas and
// spaces separate too); blank entries are skipped and duplicates dropped.
func ParseOrigins(text string) (Origins, error) {
	entries := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' })
	var out Origins
	seen := map[Origin]bool{}
	for _, e := range entries {
		o, err := ParseOrigin(e, true)
		if err != nil {
			return nil, err
		}
		if seen[o] {
			continue
		}
		seen[o] = true
		out = append(out, o)
		if len(out) > MaxWidgetOrigins {
			return nil, Errorf(CodeInvalid, "A widget may allow at most %d origins.", MaxWidgetOrigins)
		}
	}
	return out, nil
}

// Allows reports whether a browser's Origin header value is one of the
// list's origins: same scheme, same port (default ports filled in), and the
// same host, or for a wildcard a host ending in "."+host. An empty list, an
// empty or "null" origin and anything unparsable are refused.
func (l Origins) Allows(origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	o, err := ParseOrigin(origin, false)
	if err != nil {
		return false
	}
	for _, a := range l {
		if a.Scheme != o.Scheme || a.Port != o.Port {
			continue
		}
		if a.Wildcard {
			if strings.HasSuffix(o.Host, "."+a.Host) {
				return true
			}
			continue
		}
		if a.Host == o.Host {
			return true
		}
	}
	return false
}

// WidgetOriginAllowed reports whether the widget's allowed origins (as
// stored) let origin in.
func WidgetOriginAllowed(allowed, origin string) bool {
	l, err := ParseOrigins(allowed)
	return err == nil && l.Allows(origin)
}

// SignIdentity returns the hex HMAC-SHA256 of userID under secret: what a
// site's server computes for a signed widget identity.
func SignIdentity(secret, userID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyIdentity reports, in constant time, whether signature is userID's
// signature under secret.
func VerifyIdentity(secret, userID, signature string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || secret == "" {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(userID))
	return hmac.Equal(got, m.Sum(nil))
}
