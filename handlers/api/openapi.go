package api

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// OpenAPIPath turns a Fiber path ("/bot/:botId/fetch") into the document's
// form ("/bot/{botId}/fetch").
func OpenAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// handleOpenAPI handles GET /api/v1/openapi.json: the API described from the
// same route table the router uses. Public: it holds no data.
func (a *API) handleOpenAPI(c *fiber.Ctx) error {
	a.docOnce.Do(func() { a.doc = a.OpenAPI() })
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(a.doc)
}

// OpenAPI builds the OpenAPI 3.1 document of the API.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, r := range a.routes {
		op := map[string]any{
			"operationId": r.OperationID,
			"summary":     r.Summary,
			"tags":        []string{r.Tag},
		}
		if r.Extension {
			op["x-parley-extension"] = true
			op["description"] = "Parley's extension: not part of ChatBotKit's API, so @chatbotkit/sdk has no method for it."
		}
		var params []any
		for _, seg := range strings.Split(r.Path, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				params = append(params, map[string]any{"name": name, "in": "path", "required": true,
					"schema": map[string]any{"type": "string"}})
			}
		}
		for _, q := range r.Query {
			s := map[string]any{"type": "string"}
			switch q {
			case "order":
				s = map[string]any{"type": "string", "enum": []string{"asc", "desc"}, "default": "desc"}
			case "take":
				s = map[string]any{"type": "integer", "minimum": 1, "maximum": 100, "default": 25}
			}
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": s})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(r.Request), true)}}}
		}
		content := map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(r.Response), false)}}
		if r.Stream {
			content["application/jsonl"] = map[string]any{"schema": map[string]any{
				"description": streamDescription(r),
				"type":        "object",
				"properties": map[string]any{
					"type": map[string]any{"type": "string"},
					"data": map[string]any{},
				},
				"required": []string{"type", "data"},
			}}
		}
		op["responses"] = map[string]any{
			"200":     map[string]any{"description": "OK", "content": content},
			"default": map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
		}
		sec := []any{map[string]any{"apiSecret": []string{}}}
		if r.Session {
			sec = append(sec, map[string]any{"sessionToken": []string{}})
		}
		op["security"] = sec
		path := OpenAPIPath(r.Path)
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Parley API",
			"version":     "1",
			"description": "ChatBotKit-compatible v1 API: point @chatbotkit/sdk at this server with baseUrl. Times are milliseconds since the epoch; lists take cursor, order and take and return {items, cursor}. Ask for application/jsonl to stream.",
		},
		"servers": []any{map[string]any{"url": Prefix}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"apiSecret":    map[string]any{"type": "http", "scheme": "bearer", "description": "An API secret (prl_…) from the dashboard or `parley secret create`."},
				"sessionToken": map[string]any{"type": "http", "scheme": "bearer", "description": "A conversation session token (pcs_…): send, receive, complete and message list/create of its one conversation."},
			},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "required": []string{"message", "code"}, "properties": map[string]any{
					"message": map[string]any{"type": "string"},
					"code":    map[string]any{"type": "string", "enum": []string{"BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "TOO_MANY_REQUESTS", "CONTENT_TOO_LARGE", "REQUEST_TIMEOUT", "REQUEST_HEADER_FIELDS_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "METHOD_NOT_ALLOWED", "UNAVAILABLE", "INTERNAL"}},
					"fields":  map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				}},
			},
		},
	}
}

func streamDescription(r Route) string {
	if len(r.Query) > 0 {
		return `Every item from the cursor on, one {"type":"item","data":{…}} per line.`
	}
	return `One event per line: {"type":"token","data":{"token"}} as the answer is produced, {"type":"message"} for context and activity messages, {"type":"usage"}, {"type":"error","data":{"message"}} on failure, and last {"type":"result","data":{…the JSON answer…}}.`
}

// schemaOf describes a Go type as a JSON schema, reading json and validate
// tags. In a request, required fields are those validated as required; in a
// response, those always present (no omitempty).
func schemaOf(t reflect.Type, request bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), request)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": true}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addFields(t, request, props, &required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func addFields(t reflect.Type, request bool, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, request, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := schemaOf(f.Type, request)
		if d := f.Tag.Get("doc"); d != "" {
			s["description"] = d
		}
		for _, rule := range strings.Split(f.Tag.Get("validate"), ",") {
			key, val, _ := strings.Cut(rule, "=")
			switch key {
			case "required":
				if request {
					*required = append(*required, name)
				}
			case "oneof":
				s["enum"] = strings.Fields(val)
			case "max":
				limit(s, "max", val)
			case "min":
				limit(s, "min", val)
			}
		}
		if !request && !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
		props[name] = s
	}
}

func limit(s map[string]any, kind, val string) {
	switch s["type"] {
	case "string":
		s[kind+"Length"] = atoi(val)
	case "array":
		s[kind+"Items"] = atoi(val)
	case "integer", "number":
		s[map[string]string{"max": "maximum", "min": "minimum"}[kind]] = atof(val)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
