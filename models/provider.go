package models

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Provider kinds. Every kind so far speaks the OpenAI chat-completions API,
// which OpenAI, Ollama, vLLM, llama.cpp server, LM Studio and OpenRouter serve.
const (
	ProviderKindOpenAI = "openai"
)

// ProviderKinds lists the kinds a provider may have, for forms.
var ProviderKinds = []string{ProviderKindOpenAI}

// LocalProvider is the built-in offline provider's name: reserved, never a
// configured provider.
const LocalProvider = "local"

// Provider limits.
const (
	DefaultProviderTimeout = 120 // seconds
	MaxProviderTimeout     = 600 // seconds
	MaxAPIKeyLength        = 4000
)

var providerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Provider is a configured model endpoint. A bot's model names it:
// "<name>/<model>", or "<name>" alone for its default model. Its API key is
// kept only encrypted (APIKeyEnc) and is never shown again once saved.
type Provider struct {
	ID             string    `json:"id" gorm:"primaryKey;size:36"`
	Name           string    `json:"name" gorm:"size:40;not null;uniqueIndex" validate:"required,max=40"`
	Kind           string    `json:"kind" gorm:"size:20;not null" validate:"required,oneof=openai"`
	BaseURL        string    `json:"baseUrl" gorm:"column:base_url;size:500;not null" validate:"required,max=500"`
	APIKeyEnc      *string   `json:"-" gorm:"column:api_key_enc;type:text"`
	DefaultModel   string    `json:"defaultModel" gorm:"size:200;not null" validate:"max=200"`
	TimeoutSeconds int       `json:"timeoutSeconds" gorm:"not null" validate:"min=1,max=600"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Validate checks the provider's fields; messages are keyed by the fields'
// JSON names (name, kind, baseUrl, defaultModel, timeoutSeconds).
func (p *Provider) Validate() error {
	fields := map[string]string{}
	for k, v := range ErrorFields(Validate(p)) {
		fields[k] = v
	}
	if _, bad := fields["name"]; !bad && p.Name != "" {
		switch {
		case p.Name == LocalProvider:
			fields["name"] = `"local" is the built-in offline provider: choose another name.`
		case !providerNameRE.MatchString(p.Name):
			fields["name"] = "Name may contain only lower-case letters, digits and dashes, starting with a letter or digit (at most 40), e.g. ollama or openai-eu."
		}
	}
	switch _, bad := fields["baseUrl"]; {
	case p.BaseURL == "":
		fields["baseUrl"] = "Base URL is required."
	case bad:
		fields["baseUrl"] = "Base URL must be at most 500 characters."
	default:
		if msg := checkBaseURL(p.BaseURL); msg != "" {
			fields["baseUrl"] = msg
		}
	}
	if _, bad := fields["timeoutSeconds"]; bad {
		fields["timeoutSeconds"] = "Timeout must be from 1 to 600 seconds."
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: summary(fields), Fields: fields}
}

// checkBaseURL explains what is wrong with a provider's base URL, or returns "".
func checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "Base URL must be an http:// or https:// URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1."
	case u.User != nil:
		return "Base URL must not contain a user name or password: put the key in API key."
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return "Base URL must not have a query or fragment: it is the API root, to which /chat/completions is added."
	}
	return ""
}

// HasKey reports whether an API key is stored for the provider.
func (p *Provider) HasKey() bool { return p.APIKeyEnc != nil && *p.APIKeyEnc != "" }

// Model is the model string a bot uses to reach model on this provider
// ("<name>/<model>", or "<name>" for the default model).
func (p *Provider) Model(model string) string {
	if model == "" {
		return p.Name
	}
	return p.Name + "/" + model
}

// vaultNameRE matches the names a fetch ability can refer to with {{secret:NAME}}.
var vaultNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// MaxVaultValueLength bounds a vault secret's value.
const MaxVaultValueLength = 10000

// VaultSecret is a named secret that abilities use in request headers
// ({{secret:NAME}}), such as a weather API's key. Its value is kept only
// encrypted (ValueEnc) and is never shown again once saved.
type VaultSecret struct {
	ID          string    `json:"id" gorm:"primaryKey;size:36"`
	Name        string    `json:"name" gorm:"size:100;not null;uniqueIndex" validate:"required,max=100"`
	ValueEnc    string    `json:"-" gorm:"column:value_enc;type:text;not null"`
	Description string    `json:"description" gorm:"size:500;not null" validate:"max=500"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Validate checks the secret's name and description.
func (v *VaultSecret) Validate() error {
	fields := map[string]string{}
	for k, msg := range ErrorFields(Validate(v)) {
		fields[k] = msg
	}
	if _, bad := fields["name"]; !bad && !vaultNameRE.MatchString(v.Name) {
		fields["name"] = "Name may contain only letters, digits, dots, dashes and underscores, e.g. WEATHER_API_KEY."
	}
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: summary(fields), Fields: fields}
}

// Reference is how a fetch ability's header uses the secret.
func (v *VaultSecret) Reference() string { return "{{secret:" + v.Name + "}}" }
