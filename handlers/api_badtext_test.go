package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"parley/models"
)

// Tests of text PostgreSQL cannot store (a NUL character) and of meta over
// models.MaxMetaBytes, in every text and meta field of every API request: the
// cases are generated from the route table, so a new field is covered too.

// writeTables are the tables a refused request must leave exactly as they were.
var writeTables = []string{"bots", "bot_datasets", "bot_skillsets", "datasets", "dataset_records", "skillsets", "abilities",
	"conversations", "messages", "conversation_sessions"}

// snapshotRows reads every row of the write tables, so a test can tell that nothing was written.
func snapshotRows(t *testing.T, a *testApp) string {
	t.Helper()
	var b strings.Builder
	for _, table := range writeTables {
		var rows []map[string]any
		if err := a.store.DB().Table(table).Order("1, 2").Find(&rows).Error; err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		fmt.Fprintf(&b, "%s: %v\n", table, rows)
	}
	return b.String()
}

// bodyField is a field of a request body that holds text.
type bodyField struct {
	path string // as the API names it, e.g. "messages[0].text"
	kind string // "string", "meta" (a models.Meta), "map" (another object) or "list" (of any)
}

var metaGoType = reflect.TypeFor[models.Meta]()

// textFields lists the text-holding fields of a request type, embedded
// structs flattened as JSON does, the first element of lists of structs
// descended into.
func textFields(rt reflect.Type, prefix string) []bodyField {
	for rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	var out []bodyField
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && ft.Kind() == reflect.Struct {
			out = append(out, textFields(ft, prefix)...)
			continue
		}
		path := prefix + name
		switch {
		case ft == metaGoType:
			out = append(out, bodyField{path, "meta"})
		case ft.Kind() == reflect.String, ft.Kind() == reflect.Interface:
			out = append(out, bodyField{path, "string"})
		case ft.Kind() == reflect.Map:
			out = append(out, bodyField{path, "map"})
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, textFields(ft.Elem(), path+"[0].")...)
		case ft.Kind() == reflect.Slice:
			out = append(out, bodyField{path, "list"})
		}
	}
	return out
}

// setPath sets a field of a JSON body given as a map; "messages[0].text"
// sets the text of the first message (made a user message if absent).
func setPath(body map[string]any, path string, v any) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		body[head] = v
		return
	}
	name, idx, _ := strings.Cut(strings.TrimSuffix(head, "]"), "[")
	i, _ := strconv.Atoi(idx)
	list, _ := body[name].([]any)
	for len(list) <= i {
		list = append(list, map[string]any{"type": "user", "text": "hi"})
	}
	elem, _ := list[i].(map[string]any)
	setPath(elem, rest, v)
	body[name] = list
}

// badBodies are the bodies that put bad text or meta into one field.
func badBodies(base map[string]any, f bodyField) map[string]map[string]any {
	nul := "a\x00b"
	values := map[string]any{}
	switch f.kind {
	case "string":
		values["NUL"] = nul
	case "list":
		values["NUL"] = []any{nul}
	case "map":
		values["NULValue"] = map[string]any{"k": nul}
		values["NULKey"] = map[string]any{nul: "v"}
	case "meta":
		values["NULValue"] = map[string]any{"k": []any{"ok", map[string]any{"deep": nul}}}
		values["NULKey"] = map[string]any{nul: "v"}
		values["TooLarge"] = map[string]any{"big": strings.Repeat("m", 17<<10)}
	}
	out := map[string]map[string]any{}
	for name, v := range values {
		b := cloneBody(base)
		setPath(b, f.path, v)
		out[name] = b
	}
	return out
}

func cloneBody(m map[string]any) map[string]any {
	raw, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func TestAPIRefusesBadText(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		ds := mustCreate(t, c, "/dataset/create", `{"name":"D"}`)
		rec := mustCreate(t, c, "/dataset/"+ds+"/record/create", `{"text":"Refunds within 14 days."}`)
		ks := mustCreate(t, c, "/skillset/create", `{"name":"K"}`)
		ab := mustCreate(t, c, "/skillset/"+ks+"/ability/create", `{"name":"A"}`)
		bot := mustCreate(t, c, "/bot/create", `{"name":"B","datasetId":"`+ds+`","skillsetId":"`+ks+`"}`)
		conv := mustCreate(t, c, "/conversation/create", `{"botId":"`+bot+`","messages":[{"type":"user","text":"hello"}]}`)
		msg := ok(t, c.post("/conversation/"+conv+"/message/create", `{"type":"bot","text":"Hi!"}`)).str("id")
		a.store.SetBox(testBox(t)) // integrations seal their secrets
		widget := mustCreate(t, c, "/integration/widget/create", `{"botId":"`+bot+`","origin":"https://example.com"}`)
		ids := map[string]string{"botId": bot, "datasetId": ds, "recordId": rec, "skillsetId": ks, "abilityId": ab,
			"conversationId": conv, "messageId": msg, "widgetIntegrationId": widget}

		// The rest of a body that the route would accept.
		bases := map[string]map[string]any{
			"/dataset/:datasetId/search":                   {"search": "refund"},
			"/dataset/:datasetId/record/create":            {"text": "x"},
			"/skillset/:skillsetId/ability/create":         {"name": "x"},
			"/conversation/complete":                       {"messages": []any{map[string]any{"type": "user", "text": "hi"}}},
			"/conversation/:conversationId/send":           {"text": "hi"},
			"/conversation/:conversationId/message/create": {"type": "user", "text": "hi"},
		}

		type apiCase struct {
			name, path, field string
			body              map[string]any
		}
		var cases []apiCase
		covered := map[string]bool{}
		for _, r := range a.srv.API().Routes() {
			if r.Method != http.MethodPost || r.Request == nil {
				continue
			}
			for _, f := range textFields(reflect.TypeOf(r.Request), "") {
				covered[r.Path] = true
				for variant, body := range badBodies(bases[r.Path], f) {
					cases = append(cases, apiCase{name: strings.Trim(strings.ReplaceAll(r.Path, "/", "_"), "_") + "/" + f.path + "/" + variant,
						path: fillPath(r.Path, ids), field: f.path, body: body})
				}
			}
		}
		// Every route the issue names is among them.
		for _, p := range []string{"/bot/create", "/bot/:botId/update", "/dataset/create", "/dataset/:datasetId/update",
			"/dataset/:datasetId/search", "/dataset/:datasetId/record/create", "/dataset/:datasetId/record/:recordId/update",
			"/skillset/create", "/skillset/:skillsetId/update", "/skillset/:skillsetId/ability/create",
			"/skillset/:skillsetId/ability/:abilityId/update", "/conversation/create", "/conversation/:conversationId/update",
			"/conversation/:conversationId/message/create", "/conversation/:conversationId/message/:messageId/update",
			"/conversation/:conversationId/send", "/conversation/:conversationId/complete", "/conversation/complete"} {
			if !covered[p] {
				t.Errorf("no text field found for %s", p)
			}
		}
		slices.SortFunc(cases, func(x, y apiCase) int { return strings.Compare(x.name, y.name) })
		if len(cases) < 150 {
			t.Errorf("only %d cases: the route table's request types were not read", len(cases))
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				raw, err := json.Marshal(tc.body)
				if err != nil {
					t.Fatal(err)
				}
				before := snapshotRows(t, a)
				r := c.post(tc.path, string(raw))
				wantBadRequest(t, r, tc.field)
				if after := snapshotRows(t, a); after != before {
					t.Errorf("a refused request wrote:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		t.Run("Messages", func(t *testing.T) {
			r := c.post("/bot/create", `{"name":"a\u0000b","meta":{"big":"`+strings.Repeat("m", 17<<10)+`"}}`)
			fields, _ := r.JSON["fields"].(map[string]any)
			if got, want := fields["name"], `Name must not contain NUL characters (\u0000).`; got != want {
				t.Errorf("name: %q, want %q", got, want)
			}
			if got, want := fields["meta"], "Meta must be at most 16384 bytes."; got != want {
				t.Errorf("meta: %q, want %q", got, want)
			}
		})
		t.Run("MetaAtLimitAccepted", func(t *testing.T) {
			m := `{"big":"` + strings.Repeat("m", models.MaxMetaBytes-len(`{"big":""}`)) + `"}`
			mustCreate(t, c, "/dataset/create", `{"name":"At limit","meta":`+m+`}`)
			mustCreate(t, c, "/conversation/create", `{"meta":`+m+`,"messages":[{"type":"user","text":"hi","meta":`+m+`}]}`)
		})
	})
}
