package ability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"parley/app/provider"
	"parley/models"
)

// fetchSpec is a fetch action as its meta spells it.
type fetchSpec struct {
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Parameters []paramSpec       `json:"parameters"`
	Headers    map[string]string `json:"headers"`
}

// paramSpec is one argument the model fills in.
type paramSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Enum        []any  `json:"enum"`
}

// urlPart is a piece of a URL template: literal text, or a placeholder and
// how its value is escaped.
type urlPart struct {
	text  string
	param string
	query bool // in the query string (else the path or fragment)
}

// headerPart is a piece of a header value: literal text or a secret's name.
type headerPart struct {
	text   string
	secret string
}

type header struct {
	name  string
	parts []headerPart
}

// fetch is a fetch action: an HTTP GET or POST to a URL template.
type fetch struct {
	base
	method  string
	url     []urlPart
	params  []paramSpec
	inURL   map[string]bool
	headers []header
	opts    options
}

var (
	paramNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	secretNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

func newFetch(b base, meta models.Meta, o options) (Runner, error) {
	a := b.ability
	raw, err := json.Marshal(meta)
	if err != nil {
		return nil, invalid(a, "meta is not valid JSON")
	}
	var spec fetchSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalid(a, fmt.Sprintf("fetch meta %q has the wrong type (%s where %s is expected)", te.Field, te.Value, te.Type))
		}
		return nil, invalid(a, "fetch meta is malformed: method and url must be strings, parameters a list of {name, description, type, required}, headers an object of strings")
	}

	f := &fetch{base: b, inURL: map[string]bool{}, opts: o}
	switch f.method = strings.ToUpper(strings.TrimSpace(spec.Method)); f.method {
	case "":
		f.method = http.MethodGet
	case http.MethodGet, http.MethodPost:
	default:
		return nil, invalid(a, fmt.Sprintf("fetch method %q is not supported; use GET or POST", spec.Method))
	}

	declared := map[string]bool{}
	for i, p := range spec.Parameters {
		p.Name = strings.TrimSpace(p.Name)
		if !paramNameRE.MatchString(p.Name) {
			return nil, invalid(a, fmt.Sprintf("parameter %d has the name %q; use letters, digits and underscores, starting with a letter", i+1, p.Name))
		}
		if declared[p.Name] {
			return nil, invalid(a, fmt.Sprintf("parameter %q is declared twice", p.Name))
		}
		declared[p.Name] = true
		switch p.Type = strings.ToLower(strings.TrimSpace(p.Type)); p.Type {
		case "":
			p.Type = "string"
		case "string", "number", "integer", "boolean":
		default:
			return nil, invalid(a, fmt.Sprintf("parameter %q has the type %q; use string, number, integer or boolean", p.Name, p.Type))
		}
		for _, e := range p.Enum {
			switch e.(type) {
			case string, float64, bool:
			default:
				return nil, invalid(a, fmt.Sprintf("parameter %q has an enum value that is not a string, number or boolean", p.Name))
			}
		}
		f.params = append(f.params, p)
	}

	if strings.TrimSpace(spec.URL) == "" {
		return nil, invalid(a, "a fetch action needs a url")
	}
	parts, err := parseURLTemplate(strings.TrimSpace(spec.URL))
	if err != nil {
		return nil, invalid(a, "fetch url "+err.Error())
	}
	f.url = parts
	for _, p := range parts {
		if p.param == "" {
			continue
		}
		f.inURL[p.param] = true
		if !declared[p.param] { // a placeholder without a declaration is a required string
			declared[p.param] = true
			f.params = append(f.params, paramSpec{Name: p.param, Type: "string", Required: true})
		}
	}

	names := make([]string, 0, len(spec.Headers))
	for name := range spec.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !validHeaderName(name) {
			return nil, invalid(a, fmt.Sprintf("header name %q is not valid", name))
		}
		hp, err := parseHeaderTemplate(spec.Headers[name])
		if err != nil {
			return nil, invalid(a, fmt.Sprintf("header %q: %v", name, err))
		}
		f.headers = append(f.headers, header{name: name, parts: hp})
	}
	return f, nil
}

// parseURLTemplate splits a URL template into literals and {param}
// placeholders, and checks that it is an absolute http or https URL whose
// scheme and host are fixed (the model fills in the path, query or fragment,
// never the destination).
func parseURLTemplate(tmpl string) ([]urlPart, error) {
	var parts []urlPart
	var lit strings.Builder
	inQuery := false
	hostEnd := -1 // where the authority ends in the template
	if i := strings.Index(tmpl, "://"); i >= 0 {
		rest := tmpl[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			hostEnd = i + 3 + j
		} else {
			hostEnd = len(tmpl)
		}
	} else {
		return nil, errors.New("must start with http:// or https://")
	}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch c {
		case '{':
			if strings.HasPrefix(tmpl[i:], "{{") {
				if strings.HasPrefix(tmpl[i:], "{{secret:") {
					return nil, errors.New("may not contain secrets; put {{secret:NAME}} in a header")
				}
				return nil, fmt.Errorf("has \"{{\" at position %d; placeholders look like {name}", i+1)
			}
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("has a \"{\" at position %d without a closing \"}\"", i+1)
			}
			name := tmpl[i+1 : i+end]
			if !paramNameRE.MatchString(name) {
				return nil, fmt.Errorf("has the placeholder {%s}; names use letters, digits and underscores, starting with a letter", name)
			}
			if i < hostEnd {
				return nil, fmt.Errorf("has the placeholder {%s} in its scheme or host; only the path and query may have placeholders", name)
			}
			if lit.Len() > 0 {
				parts = append(parts, urlPart{text: lit.String()})
				lit.Reset()
			}
			parts = append(parts, urlPart{param: name, query: inQuery})
			i += end
		case '}':
			return nil, fmt.Errorf("has a \"}\" at position %d without an opening \"{\"", i+1)
		default:
			switch c {
			case '?':
				inQuery = true
			case '#':
				inQuery = false
			}
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, urlPart{text: lit.String()})
	}
	// Check the shape with every placeholder filled in.
	var sample strings.Builder
	for _, p := range parts {
		if p.param != "" {
			sample.WriteString("x")
		} else {
			sample.WriteString(p.text)
		}
	}
	u, err := url.Parse(sample.String())
	if err != nil {
		return nil, fmt.Errorf("is not a valid URL: %v", stripURLErr(err))
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, errors.New("must start with http:// or https://")
	}
	if u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	return parts, nil
}

// stripURLErr drops the URL from a url.Error, keeping the reason.
func stripURLErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseHeaderTemplate splits a header value into text and {{secret:NAME}}
// references.
func parseHeaderTemplate(v string) ([]headerPart, error) {
	var parts []headerPart
	for v != "" {
		i := strings.Index(v, "{{secret:")
		if i < 0 {
			parts = append(parts, headerPart{text: v})
			break
		}
		if i > 0 {
			parts = append(parts, headerPart{text: v[:i]})
		}
		rest := v[i+len("{{secret:"):]
		end := strings.Index(rest, "}}")
		if end < 0 {
			return nil, errors.New("has \"{{secret:\" without a closing \"}}\"")
		}
		name := strings.TrimSpace(rest[:end])
		if !secretNameRE.MatchString(name) {
			return nil, fmt.Errorf("the secret name %q is not valid; use letters, digits, dots, dashes and underscores", name)
		}
		parts = append(parts, headerPart{secret: name})
		v = rest[end+2:]
	}
	for _, p := range parts {
		if strings.ContainsAny(p.text, "\r\n\x00") {
			return nil, errors.New("may not contain line breaks")
		}
	}
	return parts, nil
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Tool implements Runner: one property per declared parameter.
func (f *fetch) Tool() provider.Tool {
	props := map[string]any{}
	var required []string
	for _, p := range f.params {
		prop := map[string]any{"type": p.Type}
		if p.Description != "" {
			prop["description"] = p.Description
		}
		if len(p.Enum) > 0 {
			prop["enum"] = p.Enum
		}
		props[p.Name] = prop
		if p.Required {
			required = append(required, p.Name)
		}
	}
	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	return f.tool(schema)
}

// Run implements Runner. Placeholders in the URL take their argument,
// URL-escaped; a GET sends the other declared arguments in the query string,
// a POST sends every declared argument as a JSON object body. Arguments that
// are not declared are ignored. The result is the status line and the body
// (JSON pretty-printed, capped with a note); an HTTP error status is a
// result, not an error, so the model can read it.
func (f *fetch) Run(ctx context.Context, args json.RawMessage) (string, error) {
	m, err := objectArgs(args)
	if err != nil {
		return "", f.errorf("%v", err)
	}
	values := map[string]string{}
	body := map[string]any{}
	for _, p := range f.params {
		v, ok := m[p.Name]
		if !ok || v == nil {
			if p.Required {
				return "", f.errorf("the argument %q is required", p.Name)
			}
			continue
		}
		s, err := scalarString(v)
		if err != nil {
			return "", f.errorf("the argument %q %v", p.Name, err)
		}
		if len(p.Enum) > 0 && !slices.ContainsFunc(p.Enum, func(e any) bool { es, _ := scalarString(e); return es == s }) {
			return "", f.errorf("the argument %q is %q; it must be one of %v", p.Name, s, p.Enum)
		}
		values[p.Name] = s
		body[p.Name] = v
	}

	u, err := f.buildURL(values)
	if err != nil {
		return "", f.errorf("%v", err)
	}
	var reqBody io.Reader
	if f.method == http.MethodPost {
		b, err := json.Marshal(body)
		if err != nil {
			return "", f.errorf("encode the body: %v", err)
		}
		reqBody = bytes.NewReader(b)
	}

	ctx, cancel := context.WithTimeout(ctx, f.opts.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, f.method, u, reqBody)
	if err != nil {
		return "", f.errorf("%v", stripURLErr(err))
	}
	req.Header.Set("User-Agent", "Parley-Ability/1")
	req.Header.Set("Accept", "application/json, text/*;q=0.9, */*;q=0.5")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	secrets, err := f.setHeaders(ctx, req)
	if err != nil {
		return "", err
	}
	redact := redactor(secrets)

	resp, err := f.client(req, secrets).Do(req)
	if err != nil {
		return "", f.describeErr(ctx, err, redact)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.maxBody+1))
	if err != nil {
		return "", f.describeErr(ctx, err, redact)
	}
	truncated := int64(len(data)) > f.opts.maxBody
	if truncated {
		data = data[:f.opts.maxBody]
	}
	return redact(formatResponse(resp, data, truncated, f.opts.maxBody)), nil
}

// buildURL fills the template's placeholders and, for a GET, appends the other
// arguments to the query string.
func (f *fetch) buildURL(values map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range f.url {
		switch {
		case p.param == "":
			b.WriteString(p.text)
		case p.query:
			b.WriteString(url.QueryEscape(values[p.param]))
		default:
			v := url.PathEscape(values[p.param])
			if v == "." || v == ".." { // no climbing out of the path
				v = strings.ReplaceAll(v, ".", "%2E")
			}
			b.WriteString(v)
		}
	}
	u, err := url.Parse(b.String())
	if err != nil {
		return "", fmt.Errorf("the filled-in URL is not valid: %v", stripURLErr(err))
	}
	if f.method == http.MethodGet {
		q := u.Query()
		added := false
		for _, p := range f.params {
			if v, ok := values[p.Name]; ok && !f.inURL[p.Name] {
				q.Set(p.Name, v)
				added = true
			}
		}
		if added {
			u.RawQuery = q.Encode()
		}
	}
	return u.String(), nil
}

// setHeaders sets the action's headers, resolving secrets; it returns the
// secret values used, for redaction.
func (f *fetch) setHeaders(ctx context.Context, req *http.Request) ([]string, error) {
	var secrets []string
	for _, h := range f.headers {
		var v strings.Builder
		for _, p := range h.parts {
			if p.secret == "" {
				v.WriteString(p.text)
				continue
			}
			if f.opts.secrets == nil {
				return nil, f.errorf("header %q needs the secret %q, but no secret store is configured", h.name, p.secret)
			}
			s, err := f.opts.secrets(ctx, p.secret)
			if err != nil {
				return nil, f.errorf("header %q: secret %q: %s", h.name, p.secret, redactor(secrets)(err.Error()))
			}
			if strings.ContainsAny(s, "\r\n\x00") {
				return nil, f.errorf("header %q: the secret %q contains a line break", h.name, p.secret)
			}
			secrets = append(secrets, s)
			v.WriteString(s)
		}
		req.Header.Set(h.name, v.String())
	}
	return secrets, nil
}

// client returns the HTTP client for one request: the configured one, but if
// headers carry secrets, a copy that drops those headers when a redirect
// leaves the original host (Go's client only drops Authorization and
// cookies).
func (f *fetch) client(req *http.Request, secrets []string) *http.Client {
	c := f.opts.client
	if len(secrets) == 0 {
		return c
	}
	var secretHeaders []string
	for _, h := range f.headers {
		for _, p := range h.parts {
			if p.secret != "" {
				secretHeaders = append(secretHeaders, h.name)
				break
			}
		}
	}
	origin := req.URL
	cc := *c
	check := c.CheckRedirect
	cc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if check != nil {
			if err := check(r, via); err != nil {
				return err
			}
		} else if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if !strings.EqualFold(r.URL.Host, origin.Host) || (origin.Scheme == "https" && r.URL.Scheme != "https") {
			for _, h := range secretHeaders {
				r.Header.Del(h)
			}
		}
		return nil
	}
	return &cc
}

// describeErr turns a request failure into the run's error: a timeout says
// so, a blocked destination keeps the guard's error (errors.Is(err,
// ErrBlocked)), others keep their cause with any secret value redacted.
func (f *fetch) describeErr(ctx context.Context, err error, redact func(string) string) error {
	var be *BlockedError
	if errors.As(err, &be) {
		return f.errorf("%w", be)
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return f.errorf("fetch timed out after %s", f.opts.timeout)
	}
	return f.errorf("fetch failed: %s", redact(err.Error()))
}

// redactor replaces secret values in a text with [secret]. Values shorter than
// four characters are left alone, since replacing them would garble text.
func redactor(secrets []string) func(string) string {
	var olds []string
	for _, s := range secrets {
		if len(s) >= 4 {
			olds = append(olds, s, "[secret]")
		}
	}
	if len(olds) == 0 {
		return func(s string) string { return s }
	}
	r := strings.NewReplacer(olds...)
	return r.Replace
}

// formatResponse renders the status line and body for the model.
func formatResponse(resp *http.Response, data []byte, truncated bool, limit int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", resp.Proto, resp.Status)
	ct := resp.Header.Get("Content-Type")
	if ct != "" {
		fmt.Fprintf(&b, "Content-Type: %s\n", ct)
	}
	b.WriteString("\n")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case len(data) == 0:
		b.WriteString("(empty body)")
	case !textual(mt, data):
		fmt.Fprintf(&b, "(binary body of type %s, not shown)", mt)
	default:
		var pretty bytes.Buffer
		if !truncated && json.Valid(data) && json.Indent(&pretty, data, "", "  ") == nil {
			b.Write(pretty.Bytes())
		} else {
			// What the engine stores must be text PostgreSQL (and validation) accepts.
			b.WriteString(strings.ReplaceAll(strings.ToValidUTF8(string(data), "\uFFFD"), "\x00", "\uFFFD"))
		}
	}
	if truncated {
		fmt.Fprintf(&b, "\n\n[truncated: the response is longer than %s; only the first %s are shown]", byteSize(limit), byteSize(limit))
	}
	return b.String()
}

// textual reports whether a body can be shown as text.
func textual(mediaType string, data []byte) bool {
	switch {
	case mediaType == "":
		sample := data[:min(len(data), 512)]
		for i := 0; i < 3 && len(sample) > 0 && !utf8.Valid(sample); i++ {
			sample = sample[:len(sample)-1] // a rune cut at the sample's end
		}
		return utf8.Valid(sample) && bytes.IndexByte(sample, 0) < 0
	case strings.HasPrefix(mediaType, "text/"),
		strings.Contains(mediaType, "json"),
		strings.Contains(mediaType, "xml"),
		strings.Contains(mediaType, "javascript"),
		mediaType == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

func byteSize(n int64) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// scalarString renders a JSON scalar argument as text for a URL.
func scalarString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	default:
		return "", errors.New("must be a string, number or boolean")
	}
}
