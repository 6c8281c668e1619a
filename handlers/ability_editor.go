package handlers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"parley/app/engine/ability"
	"parley/models"
)

// The ability editor: a form per kind of action instead of hand-written
// JSON, with the JSON still there as an "advanced" view that round-trips.

// Editors of the ability form.
const (
	editorForm = "form"
	editorJSON = "json"
)

// actionKeys are the meta keys the action editor owns; other keys of an
// ability's meta are kept as they are.
var actionKeys = []string{"action", "timezone", "method", "url", "parameters", "headers"}

// actionChoice is one option of the action picker.
type actionChoice struct {
	Value, Label, Hint string
}

// actionChoices are the kinds of action an ability can have.
var actionChoices = []actionChoice{
	{"", "None — instruction only", "The instruction goes into the bot's prompt; nothing runs."},
	{ability.ActionDatetime, "Built-in date and time", "Tells the model today's date and the time, optionally in a time zone."},
	{ability.ActionCalculator, "Built-in calculator", "Evaluates arithmetic the model asks for."},
	{ability.ActionFetch, "HTTP fetch", "Calls a URL with parameters the model fills in."},
}

// paramTypes are the JSON types a fetch parameter may have.
var paramTypes = []string{"string", "number", "integer", "boolean"}

// abilityForm is the body of the ability form.
type abilityForm struct {
	Name        string `form:"name" validate:"required,max=200"`
	Description string `form:"description" validate:"max=4000"`
	Instruction string `form:"instruction" validate:"max=20000"`
	// Editor is "form" (the fields below) or "json" (Meta); Switch asks to
	// change editor without saving.
	Editor string `form:"editor"`
	Switch string `form:"switch"`
	Meta   string `form:"meta"`
	// Extra is the meta keys the editor does not own, as JSON (round-trip).
	Extra    string `form:"extra"`
	Action   string `form:"action"`
	Timezone string `form:"timezone" validate:"max=100"`
	Method   string `form:"method"`
	URL      string `form:"url" validate:"max=2000"`
	// One entry per parameter row and header row.
	ParamName        []string `form:"paramName"`
	ParamDescription []string `form:"paramDescription"`
	ParamType        []string `form:"paramType"`
	ParamRequired    []string `form:"paramRequired"`
	HeaderName       []string `form:"headerName"`
	HeaderValue      []string `form:"headerValue"`
}

// paramRow is one parameter row of the form.
type paramRow struct {
	Name, Description, Type string
	Required                bool
}

// headerRow is one header row of the form.
type headerRow struct {
	Name, Value string
}

// Params are the parameter rows, with one blank row to add another.
func (f abilityForm) Params() []paramRow {
	var rows []paramRow
	for i := range f.ParamName {
		r := paramRow{Name: f.ParamName[i], Description: at(f.ParamDescription, i), Type: at(f.ParamType, i),
			Required: at(f.ParamRequired, i) == "yes"}
		if strings.TrimSpace(r.Name+r.Description) == "" {
			continue
		}
		rows = append(rows, r)
	}
	return append(rows, paramRow{Type: "string", Required: true})
}

// Headers are the header rows, with one blank row.
func (f abilityForm) Headers() []headerRow {
	var rows []headerRow
	for i := range f.HeaderName {
		r := headerRow{Name: f.HeaderName[i], Value: at(f.HeaderValue, i)}
		if strings.TrimSpace(r.Name+r.Value) == "" {
			continue
		}
		rows = append(rows, r)
	}
	return append(rows, headerRow{})
}

// JSONEditor reports whether the form shows the JSON view.
func (f abilityForm) JSONEditor() bool { return f.Editor == editorJSON }

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// abilityFormOf fills the form from an ability. An action the form cannot
// show exactly (a parameter with a list of allowed values, say) opens in the
// JSON view, so nothing is lost by saving.
func abilityFormOf(a *models.Ability) abilityForm {
	f := abilityForm{Name: a.Name, Description: a.Description, Instruction: a.Instruction, Editor: editorForm}
	f.fill(a.Meta)
	if back, err := f.meta(); err != nil || !sameJSON(back, a.Meta) {
		f.Editor, f.Meta = editorJSON, a.Meta.String()
	}
	return f
}

// fill sets the action fields from meta (and Extra from the other keys).
func (f *abilityForm) fill(meta models.Meta) {
	extra := models.Meta{}
	for k, v := range meta {
		if !slices.Contains(actionKeys, k) {
			extra[k] = v
		}
	}
	f.Extra = ""
	if len(extra) > 0 {
		b, _ := json.Marshal(extra)
		f.Extra = string(b)
	}
	str := func(k string) string { s, _ := meta[k].(string); return s }
	f.Action, f.Timezone, f.Method, f.URL = str("action"), str("timezone"), strings.ToUpper(str("method")), str("url")
	f.ParamName, f.ParamDescription, f.ParamType, f.ParamRequired = nil, nil, nil, nil
	if ps, ok := meta["parameters"].([]any); ok {
		for _, p := range ps {
			pm, _ := p.(map[string]any)
			name, _ := pm["name"].(string)
			desc, _ := pm["description"].(string)
			typ, _ := pm["type"].(string)
			req, _ := pm["required"].(bool)
			if typ == "" {
				typ = "string"
			}
			f.ParamName, f.ParamDescription, f.ParamType = append(f.ParamName, name), append(f.ParamDescription, desc), append(f.ParamType, typ)
			f.ParamRequired = append(f.ParamRequired, map[bool]string{true: "yes", false: "no"}[req])
		}
	}
	f.HeaderName, f.HeaderValue = nil, nil
	if hs, ok := meta["headers"].(map[string]any); ok {
		names := make([]string, 0, len(hs))
		for k := range hs {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			v, _ := hs[k].(string)
			f.HeaderName, f.HeaderValue = append(f.HeaderName, k), append(f.HeaderValue, v)
		}
	}
}

var paramNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

var headerNameRe = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")

// meta builds the ability's meta from the action fields (and Extra), or
// returns field errors naming the rows at fault.
func (f *abilityForm) meta() (models.Meta, error) {
	meta := models.Meta{}
	if strings.TrimSpace(f.Extra) != "" {
		if err := json.Unmarshal([]byte(f.Extra), &meta); err != nil || meta == nil {
			return nil, models.FieldError("action", "The form's hidden extra meta was changed: reload the page.")
		}
	}
	errs := map[string]string{}
	switch f.Action {
	case "":
		return meta, nil
	case ability.ActionDatetime:
		meta["action"] = f.Action
		if tz := strings.TrimSpace(f.Timezone); tz != "" {
			meta["timezone"] = tz
		}
	case ability.ActionCalculator:
		meta["action"] = f.Action
	case ability.ActionFetch:
		meta["action"] = f.Action
		method := strings.ToUpper(strings.TrimSpace(f.Method))
		if method == "" {
			method = "GET"
		}
		if method != "GET" && method != "POST" {
			errs["method"] = "Method must be GET or POST."
		}
		meta["method"] = method
		u := strings.TrimSpace(f.URL)
		if u == "" {
			errs["url"] = "URL is required: the address to call, with {name} where a parameter goes."
		}
		meta["url"] = u
		var params []any
		seen := map[string]bool{}
		for i, p := range f.Params() {
			if p.Name == "" && p.Description == "" {
				continue
			}
			p.Name = strings.TrimSpace(p.Name)
			key := fmt.Sprintf("paramName.%d", i)
			switch {
			case !paramNameRe.MatchString(p.Name):
				errs[key] = "A parameter name is letters, digits and _, starting with a letter or _ (at most 64)."
			case seen[p.Name]:
				errs[key] = fmt.Sprintf("There are two parameters named %s.", p.Name)
			}
			seen[p.Name] = true
			if !slices.Contains(paramTypes, p.Type) {
				p.Type = "string"
			}
			pm := map[string]any{"name": p.Name, "description": strings.TrimSpace(p.Description), "required": p.Required}
			if p.Type != "string" {
				pm["type"] = p.Type
			}
			params = append(params, pm)
		}
		if len(params) > 0 {
			meta["parameters"] = params
		}
		for _, ph := range placeholders(u) {
			if !seen[ph] {
				errs["url"] = fmt.Sprintf("The URL uses {%s}, but no parameter has that name: add it below or change the URL.", ph)
			}
		}
		headers := map[string]any{}
		for i, h := range f.Headers() {
			if h.Name == "" && h.Value == "" {
				continue
			}
			if !headerNameRe.MatchString(strings.TrimSpace(h.Name)) {
				errs[fmt.Sprintf("headerName.%d", i)] = "A header name is letters, digits and - (e.g. Authorization)."
				continue
			}
			headers[strings.TrimSpace(h.Name)] = h.Value
		}
		if len(headers) > 0 {
			meta["headers"] = headers
		}
	default:
		errs["action"] = "Choose an action from the list."
	}
	if len(errs) > 0 {
		return nil, &models.Error{Code: models.CodeInvalid, Message: "Some of the action's fields need fixing.", Fields: errs}
	}
	return meta, nil
}

var placeholderRe = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// placeholders are the {name} placeholders of a URL template, each once.
func placeholders(u string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(u, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// sameJSON reports whether two metas encode alike (numbers and maps compared as JSON).
func sameJSON(a, b models.Meta) bool {
	norm := func(m models.Meta) any {
		raw, _ := json.Marshal(map[string]any(m))
		var v any
		_ = json.Unmarshal(raw, &v)
		return v
	}
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// ability reads the form into an ability, or returns an invalid-input error.
// A switch between the form and the JSON view is not a save: it converts what
// was typed and returns errSwitched with the form ready to show again.
func (f *abilityForm) ability() (models.Ability, error) {
	f.Name = strings.TrimSpace(f.Name)
	if f.Editor == "" && strings.TrimSpace(f.Meta) != "" {
		f.Editor = editorJSON // a client that posts meta as JSON (scripts, older pages)
	}
	if f.Editor != editorJSON {
		f.Editor = editorForm
	}
	var (
		meta models.Meta
		err  error
	)
	if f.Editor == editorJSON {
		meta, err = models.ParseMeta("meta", f.Meta)
	} else {
		meta, err = f.meta()
	}
	switch {
	case f.Switch == editorJSON && f.Editor == editorForm:
		if err != nil {
			return models.Ability{}, err
		}
		f.Editor, f.Meta = editorJSON, meta.String()
		return models.Ability{}, errSwitched
	case f.Switch == editorForm && f.Editor == editorJSON:
		if err != nil {
			return models.Ability{}, err
		}
		f.Editor = editorForm
		f.fill(meta)
		if back, berr := f.meta(); berr != nil || !sameJSON(back, meta) {
			f.Editor = editorJSON
			return models.Ability{}, models.FieldError("meta", "This meta has options the form cannot show (a parameter's allowed values, say): keep editing it as JSON.")
		}
		return models.Ability{}, errSwitched
	}
	if verr := models.Validate(f); verr != nil {
		return models.Ability{}, verr
	}
	if err != nil {
		return models.Ability{}, err
	}
	a := models.Ability{Name: f.Name, Description: f.Description, Instruction: f.Instruction, Meta: meta}
	// The model's own rules (text the database can store, meta size) before
	// the action is checked; the store checks them again.
	return a, a.Validate()
}

// errSwitched marks a request that changed the editor instead of saving.
var errSwitched = models.Errorf(models.CodeInvalid, "switched editor")
