package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/handlers/api"
	"parley/models"
)

// Tests of the API's resources (bots, datasets and records, skillsets and
// abilities) as an SDK user sees them: what is stored, what comes back, how
// lists page and what bad input answers. Every test runs on each database.

// resourceTables are the tables a bad request must leave untouched.
var resourceTables = []string{"bots", "bot_datasets", "bot_skillsets", "datasets", "dataset_records", "skillsets", "abilities"}

// rowCounts counts the rows of every resource table.
func rowCounts(t *testing.T, a *testApp) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range resourceTables {
		out[table] = count(t, a.store, table)
	}
	return out
}

// wantSameCounts fails if any resource table's row count changed.
func wantSameCounts(t *testing.T, a *testApp, before map[string]int64) {
	t.Helper()
	after := rowCounts(t, a)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("rows changed: before %v, after %v", before, after)
	}
}

// mustCreate posts a create and returns the new, well-formed id.
func mustCreate(t *testing.T, c *apiClient, path, body string) string {
	t.Helper()
	r := ok(t, c.post(path, body))
	id := r.str("id")
	if !models.ValidID(id) {
		t.Fatalf("POST %s: id %q is not an id; body: %s", path, id, r.Raw)
	}
	return id
}

// wantField fails unless the error names field in its fields map.
func wantField(t *testing.T, r *apiResp, field string) {
	t.Helper()
	fields, _ := r.JSON["fields"].(map[string]any)
	if msg, _ := fields[field].(string); msg == "" {
		t.Errorf("error does not name %q in fields; body: %s", field, shorten(r.Raw, 1000))
	}
}

// wantBadRequest asserts 400 BAD_REQUEST naming field (when given).
func wantBadRequest(t *testing.T, r *apiResp, field string) {
	t.Helper()
	wantError(t, r, http.StatusBadRequest, "BAD_REQUEST")
	if field != "" {
		wantField(t, r, field)
	}
}

// wantValues fails for every key of want whose value in got differs (JSON-decoded values).
func wantValues(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g, present := got[k]; !present || !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v (present %v), want %#v", k, g, present, w)
		}
	}
}

// wantAbsent fails if any key is in got.
func wantAbsent(t *testing.T, got map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, present := got[k]; present {
			t.Errorf("%s = %#v, want it left out", k, v)
		}
	}
}

var msField = regexp.MustCompile(`"(createdAt|updatedAt)":(-?[0-9.eE+]+)`)

// wantTimes checks createdAt and updatedAt are integer milliseconds within
// the window (with a little slack), and returns them.
func wantTimes(t *testing.T, r *apiResp, from, to time.Time) (created, updated int64) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range msField.FindAllStringSubmatch(r.Raw, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		if !regexp.MustCompile(`^[0-9]{13}$`).MatchString(m[2]) {
			t.Errorf("%s = %s, want integer milliseconds since the epoch", m[1], m[2])
		}
	}
	if !seen["createdAt"] || !seen["updatedAt"] {
		t.Fatalf("createdAt or updatedAt missing: %s", shorten(r.Raw, 1000))
	}
	lo, hi := from.Add(-2*time.Second).UnixMilli(), to.Add(2*time.Second).UnixMilli()
	for _, k := range []string{"createdAt", "updatedAt"} {
		v, _ := r.JSON[k].(float64)
		if v != math.Trunc(v) || int64(v) < lo || int64(v) > hi {
			t.Errorf("%s = %v, want milliseconds between %d and %d", k, v, lo, hi)
		}
	}
	created, updated = int64(r.JSON["createdAt"].(float64)), int64(r.JSON["updatedAt"].(float64))
	if updated < created {
		t.Errorf("updatedAt %d is before createdAt %d", updated, created)
	}
	return created, updated
}

// wantBumped fails unless updatedAt is at or after start (the update's time).
func wantBumped(t *testing.T, updated int64, start time.Time) {
	t.Helper()
	if updated < start.UnixMilli() {
		t.Errorf("updatedAt = %d, want at or after the update (%d)", updated, start.UnixMilli())
	}
}

// walkPages lists path (which has its own query, such as ?take=2) page by
// page until an empty page and returns every id in order. Each non-empty page
// must carry the cursor of its last item and hold at most take items.
func walkPages(t *testing.T, c *apiClient, path string, take int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 100 {
		p := path
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		r := ok(t, c.get(p))
		if _, isList := r.JSON["items"].([]any); !isList {
			t.Fatalf("GET %s: items is not an array: %s", p, shorten(r.Raw, 500))
		}
		items := r.items()
		if len(items) == 0 {
			return ids
		}
		if len(items) > take {
			t.Fatalf("GET %s: %d items, want at most %d", p, len(items), take)
		}
		for _, it := range items {
			ids = append(ids, it["id"].(string))
		}
		last := ids[len(ids)-1]
		if r.str("cursor") != last {
			t.Fatalf("GET %s: cursor = %q, want the last item's id %q", p, r.str("cursor"), last)
		}
		cursor = r.str("cursor")
	}
	t.Fatalf("GET %s: more than 100 pages", path)
	return nil
}

// listAll returns every id of a list in one page (at most 100).
func listAll(t *testing.T, c *apiClient, path string) []string {
	t.Helper()
	var ids []string
	for _, it := range ok(t, c.get(path)).items() {
		ids = append(ids, it["id"].(string))
	}
	return ids
}

// wantEachOnce fails unless got holds no duplicates, has n ids and contains every id of want.
func wantEachOnce(t *testing.T, got []string, n int, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if seen[id] > 1 {
			t.Errorf("id %s listed %d times", id, seen[id])
		}
	}
	if len(got) != n {
		t.Errorf("listed %d items, want %d", len(got), n)
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("id %s listed %d times, want once", id, seen[id])
		}
	}
}

// streamedIDs lists path as JSON lines and returns the ids, every line an item.
func streamedIDs(t *testing.T, c *apiClient, path string) []string {
	t.Helper()
	var ids []string
	for _, ev := range c.lines(http.MethodGet, path, "") {
		if ev["type"] != "item" {
			t.Fatalf("line type = %v, want item: %v", ev["type"], ev)
		}
		data, _ := ev["data"].(map[string]any)
		id, _ := data["id"].(string)
		if id == "" {
			t.Fatalf("item line without an id: %v", ev)
		}
		ids = append(ids, id)
	}
	return ids
}

// reversed returns a reversed copy.
func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// inOrder reports whether want's ids appear in got in want's order.
func inOrder(got, want []string) bool {
	var pos []int
	for _, id := range want {
		i := slices.Index(got, id)
		if i < 0 {
			return false
		}
		pos = append(pos, i)
	}
	return slices.IsSorted(pos)
}

// walkAndOrder checks a list's paging and ordering with the ids created in
// order, n being how many items the list has in all.
func walkAndOrder(t *testing.T, c *apiClient, list string, made []string, n int) {
	t.Helper()
	sep := "?"
	if strings.Contains(list, "?") {
		sep = "&"
	}
	t.Run("Pages", func(t *testing.T) {
		got := walkPages(t, c, list+sep+"take=2", 2)
		wantEachOnce(t, got, n, made)
		if !inOrder(got, reversed(made)) {
			t.Errorf("default order is not newest first: made %v, listed %v", made, got)
		}
		r := ok(t, c.get(list+sep+"take=2"))
		if len(r.items()) != min(2, n) {
			t.Errorf("take=2 gave %d items", len(r.items()))
		}
	})
	t.Run("PagesAsc", func(t *testing.T) {
		got := walkPages(t, c, list+sep+"take=2&order=asc", 2)
		wantEachOnce(t, got, n, made)
		if !inOrder(got, made) {
			t.Errorf("order=asc is not oldest first: made %v, listed %v", made, got)
		}
	})
	t.Run("AscIsDescReversed", func(t *testing.T) {
		asc := listAll(t, c, list+sep+"take=100&order=asc")
		desc := listAll(t, c, list+sep+"take=100&order=desc")
		def := listAll(t, c, list+sep+"take=100")
		if len(asc) != n || !slices.Equal(asc, reversed(desc)) {
			t.Errorf("asc %v is not desc %v reversed", asc, desc)
		}
		if !slices.Equal(def, desc) {
			t.Errorf("default order %v differs from desc %v", def, desc)
		}
	})
	t.Run("Streamed", func(t *testing.T) {
		got := streamedIDs(t, c, list+sep+"take=2")
		wantEachOnce(t, got, n, made)
		if !slices.Equal(got, listAll(t, c, list+sep+"take=100")) {
			t.Errorf("streamed order differs from the listed one")
		}
		asc := streamedIDs(t, c, list+sep+"take=1&order=asc")
		if !slices.Equal(asc, listAll(t, c, list+sep+"take=100&order=asc")) {
			t.Errorf("streamed asc %v differs from listed asc", asc)
		}
		// From a cursor on: only what follows it.
		all := listAll(t, c, list+sep+"take=100")
		from := streamedIDs(t, c, list+sep+"take=2&cursor="+all[1])
		if !slices.Equal(from, all[2:]) {
			t.Errorf("streamed from cursor %s = %v, want %v", all[1], from, all[2:])
		}
	})
}

func TestAPIBots(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		ds := mustCreate(t, c, "/dataset/create", `{"name":"Handbook"}`)
		ds2 := mustCreate(t, c, "/dataset/create", `{"name":"FAQ"}`)
		ks := mustCreate(t, c, "/skillset/create", `{"name":"Tools"}`)

		t.Run("CreateMinimal", func(t *testing.T) {
			before := time.Now()
			id := mustCreate(t, c, "/bot/create", `{}`)
			r := ok(t, c.get("/bot/"+id+"/fetch"))
			wantTimes(t, r, before, time.Now())
			wantValues(t, r.JSON, map[string]any{
				"id": id, "model": "local", "visibility": "private", "name": "", "description": "", "backstory": "",
				"privacy": false, "moderation": false, "meta": map[string]any{},
				"datasetIds": []any{}, "skillsetIds": []any{},
			})
			wantAbsent(t, r.JSON, "datasetId", "skillsetId", "alias")
			// An empty body is {}.
			id2 := mustCreate(t, c, "/bot/create", "")
			wantValues(t, ok(t, c.get("/bot/"+id2+"/fetch")).JSON, map[string]any{"model": "local", "visibility": "private"})
		})

		full := func(alias string) string {
			return fmt.Sprintf(`{"name":"Helpdesk","description":"Answers staff","backstory":"You are kind.","model":"local/gpt-4o-mini",
				"meta":{"team":"support","tier":2,"tags":["a","b"]},"privacy":true,"moderation":true,"visibility":"public",
				"alias":%q,"datasetId":%q,"skillsetId":%q}`, alias, ds, ks)
		}
		fullWant := map[string]any{
			"name": "Helpdesk", "description": "Answers staff", "backstory": "You are kind.", "model": "local/gpt-4o-mini",
			"meta":    map[string]any{"team": "support", "tier": float64(2), "tags": []any{"a", "b"}},
			"privacy": true, "moderation": true, "visibility": "public",
			"datasetId": ds, "skillsetId": ks, "datasetIds": []any{ds}, "skillsetIds": []any{ks},
		}

		t.Run("CreateFullAndFetch", func(t *testing.T) {
			before := time.Now()
			id := mustCreate(t, c, "/bot/create", full("helpdesk"))
			r := ok(t, c.get("/bot/"+id+"/fetch"))
			wantTimes(t, r, before, time.Now())
			wantValues(t, r.JSON, fullWant)
			wantValues(t, r.JSON, map[string]any{"id": id, "alias": "helpdesk"})
		})

		t.Run("AliasTaken", func(t *testing.T) {
			mustCreate(t, c, "/bot/create", `{"alias":"taken"}`)
			before := rowCounts(t, a)
			wantError(t, c.post("/bot/create", `{"alias":"taken","datasetId":"`+ds+`"}`), http.StatusConflict, "CONFLICT")
			wantSameCounts(t, a, before)
			other := mustCreate(t, c, "/bot/create", `{"name":"Other","alias":"other"}`)
			was := ok(t, c.get("/bot/"+other+"/fetch")).Raw
			wantError(t, c.post("/bot/"+other+"/update", `{"name":"Renamed","alias":"taken"}`), http.StatusConflict, "CONFLICT")
			if now := ok(t, c.get("/bot/"+other+"/fetch")).Raw; now != was {
				t.Errorf("refused update changed the bot:\nbefore %s\nafter  %s", was, now)
			}
		})

		t.Run("UpdatePartial", func(t *testing.T) {
			id := mustCreate(t, c, "/bot/create", full("partial"))
			first := ok(t, c.get("/bot/"+id+"/fetch"))
			created, _ := wantTimes(t, first, time.Now().Add(-time.Minute), time.Now())

			steps := []struct {
				name, body string
				changed    map[string]any
				gone       []string
			}{
				{"Name", `{"name":"Renamed"}`, map[string]any{"name": "Renamed"}, nil},
				{"FalseIsAValue", `{"privacy":false,"moderation":false}`, map[string]any{"privacy": false, "moderation": false}, nil},
				{"Visibility", `{"visibility":"protected"}`, map[string]any{"visibility": "protected"}, nil},
				{"EmptyStringIsAValue", `{"description":""}`, map[string]any{"description": ""}, nil},
				{"MetaReplaced", `{"meta":{"new":true}}`, map[string]any{"meta": map[string]any{"new": true}}, nil},
				{"OtherDataset", `{"datasetId":"` + ds2 + `"}`, map[string]any{"datasetId": ds2, "datasetIds": []any{ds2}}, nil},
				{"DetachDataset", `{"datasetId":""}`, map[string]any{"datasetIds": []any{}}, []string{"datasetId"}},
				{"DetachSkillset", `{"skillsetId":""}`, map[string]any{"skillsetIds": []any{}}, []string{"skillsetId"}},
				{"Nothing", `{}`, map[string]any{}, nil},
				{"AliasCleared", `{"alias":""}`, map[string]any{}, []string{"alias"}},
			}
			want := map[string]any{}
			for k, v := range fullWant {
				want[k] = v
			}
			want["alias"] = "partial"
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					start := time.Now()
					if got := ok(t, c.post("/bot/"+id+"/update", s.body)).str("id"); got != id {
						t.Errorf("update answered id %q, want %q", got, id)
					}
					for k, v := range s.changed {
						want[k] = v
					}
					for _, k := range s.gone {
						delete(want, k)
					}
					r := ok(t, c.get("/bot/"+id+"/fetch"))
					wantValues(t, r.JSON, want)
					wantAbsent(t, r.JSON, s.gone...)
					c2, u2 := wantTimes(t, r, time.Now().Add(-time.Minute), time.Now())
					if c2 != created {
						t.Errorf("createdAt changed on update: %d, was %d", c2, created)
					}
					if len(s.changed) > 0 {
						wantBumped(t, u2, start)
					}
				})
			}
		})

		t.Run("SeveralDatasetsKept", func(t *testing.T) {
			// Attached in the dashboard: datasetIds lists both, datasetId the first by name.
			id := mustCreate(t, c, "/bot/create", `{"name":"Two","datasetId":"`+ds+`"}`)
			if err := a.store.AttachDataset(t.Context(), id, ds2); err != nil {
				t.Fatal(err)
			}
			wantValues(t, ok(t, c.get("/bot/"+id+"/fetch")).JSON, map[string]any{"datasetId": ds2, "datasetIds": []any{ds2, ds}})
			ok(t, c.post("/bot/"+id+"/update", `{"name":"Still two"}`))
			wantValues(t, ok(t, c.get("/bot/"+id+"/fetch")).JSON, map[string]any{"name": "Still two", "datasetIds": []any{ds2, ds}})
			ok(t, c.post("/bot/"+id+"/update", `{"datasetId":"`+ds+`"}`))
			wantValues(t, ok(t, c.get("/bot/"+id+"/fetch")).JSON, map[string]any{"datasetId": ds, "datasetIds": []any{ds}})
		})

		t.Run("UpdateRefusedKeepsBot", func(t *testing.T) {
			id := mustCreate(t, c, "/bot/create", `{"name":"Keep","datasetId":"`+ds+`"}`)
			before := ok(t, c.get("/bot/"+id+"/fetch")).Raw
			counts := rowCounts(t, a)
			r := c.post("/bot/"+id+"/update", `{"name":"Changed","datasetId":"`+models.NewID()+`"}`)
			wantBadRequest(t, r, "datasetId")
			wantBadRequest(t, c.post("/bot/"+id+"/update", `{"name":"Changed","visibility":"nope"}`), "visibility")
			wantBadRequest(t, c.post("/bot/"+id+"/update", `{"name":"Changed","model":5}`), "model")
			if after := ok(t, c.get("/bot/"+id+"/fetch")).Raw; after != before {
				t.Errorf("refused update changed the bot:\nbefore %s\nafter  %s", before, after)
			}
			wantSameCounts(t, a, counts)
		})

		t.Run("Delete", func(t *testing.T) {
			id := mustCreate(t, c, "/bot/create", `{"name":"Doomed","datasetId":"`+ds+`","skillsetId":"`+ks+`"}`)
			n := count(t, a.store, "bots")
			links := count(t, a.store, "bot_datasets")
			if got := ok(t, c.post("/bot/"+id+"/delete", `{}`)).str("id"); got != id {
				t.Errorf("delete answered id %q", got)
			}
			if got := count(t, a.store, "bots"); got != n-1 {
				t.Errorf("bots = %d, want %d", got, n-1)
			}
			if got := count(t, a.store, "bot_datasets"); got != links-1 {
				t.Errorf("bot_datasets = %d, want %d", got, links-1)
			}
			wantError(t, c.get("/bot/"+id+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post("/bot/"+id+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post("/bot/"+id+"/update", `{"name":"Back"}`), http.StatusNotFound, "NOT_FOUND")
			// The dataset and skillset it used stay.
			ok(t, c.get("/dataset/"+ds+"/fetch"))
			ok(t, c.get("/skillset/"+ks+"/fetch"))
		})

		t.Run("List", func(t *testing.T) {
			var made []string
			for i := range 5 {
				made = append(made, mustCreate(t, c, "/bot/create", fmt.Sprintf(`{"name":"List %d"}`, i)))
			}
			n := int(count(t, a.store, "bots"))
			walkAndOrder(t, c, "/bot/list", made, n)
			t.Run("ItemsAreFullBots", func(t *testing.T) {
				id := mustCreate(t, c, "/bot/create", full("listed"))
				items := ok(t, c.get("/bot/list?take=1")).items()
				if len(items) != 1 || items[0]["id"] != id {
					t.Fatalf("newest bot is not first: %v", items)
				}
				wantValues(t, items[0], fullWant)
			})
		})
	})
}

func TestAPIDatasets(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		fullBody := `{"name":"Handbook","description":"Staff rules","alias":"handbook","meta":{"owner":"hr"},
			"store":"ada-loom","reranker":"none","recordMaxTokens":500,"searchMinScore":0.35,"searchMaxRecords":7,
			"searchMaxTokens":2000,"matchInstruction":"Use these records.","mismatchInstruction":"Say you do not know.",
			"separators":"\n\n","visibility":"protected"}`
		fullWant := map[string]any{
			"name": "Handbook", "description": "Staff rules", "alias": "handbook", "meta": map[string]any{"owner": "hr"},
			"store": "ada-loom", "reranker": "none", "recordMaxTokens": float64(500), "searchMinScore": 0.35,
			"searchMaxRecords": float64(7), "searchMaxTokens": float64(2000), "matchInstruction": "Use these records.",
			"mismatchInstruction": "Say you do not know.", "separators": "\n\n", "visibility": "protected",
		}

		t.Run("CreateFullAndFetch", func(t *testing.T) {
			before := time.Now()
			id := mustCreate(t, c, "/dataset/create", fullBody)
			r := ok(t, c.get("/dataset/"+id+"/fetch"))
			wantTimes(t, r, before, time.Now())
			wantValues(t, r.JSON, fullWant)
			wantValues(t, r.JSON, map[string]any{"id": id})
		})

		t.Run("Defaults", func(t *testing.T) {
			id := mustCreate(t, c, "/dataset/create", `{}`)
			r := ok(t, c.get("/dataset/"+id+"/fetch"))
			wantValues(t, r.JSON, map[string]any{
				"name": "", "description": "", "meta": map[string]any{}, "store": "", "reranker": "",
				"recordMaxTokens":  float64(models.DefaultRecordMaxTokens),
				"searchMaxRecords": float64(models.DefaultSearchMaxRecords),
				"searchMaxTokens":  float64(models.DefaultSearchMaxTokens),
				"searchMinScore":   float64(0), "matchInstruction": "", "mismatchInstruction": "", "separators": "",
				"visibility": "private",
			})
			wantAbsent(t, r.JSON, "alias")
		})

		t.Run("UpdatePartial", func(t *testing.T) {
			id := mustCreate(t, c, "/dataset/create", strings.Replace(fullBody, `"handbook"`, `"handbook-2"`, 1))
			want := map[string]any{}
			for k, v := range fullWant {
				want[k] = v
			}
			want["alias"] = "handbook-2"
			created, _ := wantTimes(t, ok(t, c.get("/dataset/"+id+"/fetch")), time.Now().Add(-time.Minute), time.Now())
			steps := []struct {
				name, body string
				changed    map[string]any
			}{
				{"SearchMaxRecords", `{"searchMaxRecords":9}`, map[string]any{"searchMaxRecords": float64(9)}},
				{"ZeroIsAValue", `{"searchMinScore":0,"recordMaxTokens":0}`, map[string]any{"searchMinScore": float64(0), "recordMaxTokens": float64(0)}},
				{"Texts", `{"name":"Rules","matchInstruction":"Quote them."}`, map[string]any{"name": "Rules", "matchInstruction": "Quote them."}},
				{"EmptyStringIsAValue", `{"mismatchInstruction":""}`, map[string]any{"mismatchInstruction": ""}},
				{"Meta", `{"meta":{"owner":"it","n":1.5}}`, map[string]any{"meta": map[string]any{"owner": "it", "n": 1.5}}},
				{"Nothing", `{}`, nil},
			}
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					start := time.Now()
					if got := ok(t, c.post("/dataset/"+id+"/update", s.body)).str("id"); got != id {
						t.Errorf("update answered id %q", got)
					}
					for k, v := range s.changed {
						want[k] = v
					}
					r := ok(t, c.get("/dataset/"+id+"/fetch"))
					wantValues(t, r.JSON, want)
					c2, u2 := wantTimes(t, r, time.Now().Add(-time.Minute), time.Now())
					if c2 != created {
						t.Errorf("createdAt changed on update: %d, was %d", c2, created)
					}
					if len(s.changed) > 0 {
						wantBumped(t, u2, start)
					}
				})
			}
			t.Run("StoreIsFixed", func(t *testing.T) {
				before := ok(t, c.get("/dataset/"+id+"/fetch")).Raw
				r := c.post("/dataset/"+id+"/update", `{"store":"other","name":"Changed"}`)
				wantBadRequest(t, r, "")
				if !strings.Contains(r.str("message"), "store") {
					t.Errorf("message %q does not name store", r.str("message"))
				}
				if after := ok(t, c.get("/dataset/"+id+"/fetch")).Raw; after != before {
					t.Errorf("refused update changed the dataset:\nbefore %s\nafter  %s", before, after)
				}
			})
			t.Run("Unknown", func(t *testing.T) {
				wantError(t, c.post("/dataset/"+models.NewID()+"/update", `{"name":"x"}`), http.StatusNotFound, "NOT_FOUND")
			})
		})

		t.Run("List", func(t *testing.T) {
			var made []string
			for i := range 5 {
				made = append(made, mustCreate(t, c, "/dataset/create", fmt.Sprintf(`{"name":"List %d"}`, i)))
			}
			walkAndOrder(t, c, "/dataset/list", made, int(count(t, a.store, "datasets")))
		})

		t.Run("Delete", func(t *testing.T) {
			id := mustCreate(t, c, "/dataset/create", `{"name":"Doomed"}`)
			keep := mustCreate(t, c, "/dataset/create", `{"name":"Kept"}`)
			rec := mustCreate(t, c, "/dataset/"+id+"/record/create", `{"text":"One"}`)
			mustCreate(t, c, "/dataset/"+id+"/record/create", `{"text":"Two"}`)
			kept := mustCreate(t, c, "/dataset/"+keep+"/record/create", `{"text":"Three"}`)
			bot := mustCreate(t, c, "/bot/create", `{"name":"User","datasetId":"`+id+`"}`)
			other := mustCreate(t, c, "/bot/create", `{"name":"Other","datasetId":"`+keep+`"}`)
			records, bots, datasets := count(t, a.store, "dataset_records"), count(t, a.store, "bots"), count(t, a.store, "datasets")

			if got := ok(t, c.post("/dataset/"+id+"/delete", "")).str("id"); got != id {
				t.Errorf("delete answered id %q", got)
			}
			if got := count(t, a.store, "dataset_records"); got != records-2 {
				t.Errorf("dataset_records = %d, want %d (its two records gone)", got, records-2)
			}
			if got := count(t, a.store, "datasets"); got != datasets-1 {
				t.Errorf("datasets = %d, want %d", got, datasets-1)
			}
			if got := count(t, a.store, "bots"); got != bots {
				t.Errorf("bots = %d, want %d (bots are detached, not deleted)", got, bots)
			}
			r := ok(t, c.get("/bot/"+bot+"/fetch"))
			wantValues(t, r.JSON, map[string]any{"datasetIds": []any{}, "name": "User"})
			wantAbsent(t, r.JSON, "datasetId")
			wantValues(t, ok(t, c.get("/bot/"+other+"/fetch")).JSON, map[string]any{"datasetId": keep})
			ok(t, c.get("/dataset/"+keep+"/record/"+kept+"/fetch"))

			wantError(t, c.get("/dataset/"+id+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.get("/dataset/"+id+"/record/"+rec+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.get("/dataset/"+id+"/record/list"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post("/dataset/"+id+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			// A bot cannot be given the deleted dataset.
			wantBadRequest(t, c.post("/bot/"+bot+"/update", `{"datasetId":"`+id+`"}`), "datasetId")
		})
	})
}

func TestAPIRecords(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		ds := mustCreate(t, c, "/dataset/create", `{"name":"Docs"}`)
		other := mustCreate(t, c, "/dataset/create", `{"name":"Other"}`)
		base := "/dataset/" + ds + "/record"

		t.Run("CreateAndFetch", func(t *testing.T) {
			before := time.Now()
			id := mustCreate(t, c, base+"/create", `{"text":"Opening hours are 9 to 5.","source":"https://example.com/hours","meta":{"page":3}}`)
			r := ok(t, c.get(base+"/"+id+"/fetch"))
			wantTimes(t, r, before, time.Now())
			wantValues(t, r.JSON, map[string]any{"id": id, "text": "Opening hours are 9 to 5.",
				"source": "https://example.com/hours", "meta": map[string]any{"page": float64(3)}})
			// Minimal: text only.
			id2 := mustCreate(t, c, base+"/create", `{"text":"Just text"}`)
			r = ok(t, c.get(base+"/"+id2+"/fetch"))
			wantValues(t, r.JSON, map[string]any{"text": "Just text", "meta": map[string]any{}})
		})

		t.Run("TextRequired", func(t *testing.T) {
			for _, body := range []string{`{}`, ``, `{"text":""}`, `{"text":"  \n\t "}`, `{"source":"x","meta":{"a":1}}`, `{"text":null}`} {
				t.Run(body, func(t *testing.T) {
					before := rowCounts(t, a)
					wantBadRequest(t, c.post(base+"/create", body), "text")
					wantSameCounts(t, a, before)
				})
			}
			wantError(t, c.post("/dataset/"+models.NewID()+"/record/create", `{"text":"x"}`), http.StatusNotFound, "NOT_FOUND")
		})

		t.Run("UpdatePartial", func(t *testing.T) {
			id := mustCreate(t, c, base+"/create", `{"text":"Old text","source":"a.txt","meta":{"k":"v"}}`)
			created, _ := wantTimes(t, ok(t, c.get(base+"/"+id+"/fetch")), time.Now().Add(-time.Minute), time.Now())
			want := map[string]any{"text": "Old text", "source": "a.txt", "meta": map[string]any{"k": "v"}}
			steps := []struct {
				name, body string
				changed    map[string]any
			}{
				{"Source", `{"source":"b.txt"}`, map[string]any{"source": "b.txt"}},
				{"Text", `{"text":"New text"}`, map[string]any{"text": "New text"}},
				{"Meta", `{"meta":{"k":"w"}}`, map[string]any{"meta": map[string]any{"k": "w"}}},
				{"Nothing", `{}`, nil},
			}
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					start := time.Now()
					if got := ok(t, c.post(base+"/"+id+"/update", s.body)).str("id"); got != id {
						t.Errorf("update answered id %q", got)
					}
					for k, v := range s.changed {
						want[k] = v
					}
					r := ok(t, c.get(base+"/"+id+"/fetch"))
					wantValues(t, r.JSON, want)
					c2, u2 := wantTimes(t, r, time.Now().Add(-time.Minute), time.Now())
					if c2 != created {
						t.Errorf("createdAt changed on update: %d, was %d", c2, created)
					}
					if len(s.changed) > 0 {
						wantBumped(t, u2, start)
					}
				})
			}
			t.Run("BlankTextRefused", func(t *testing.T) {
				before := ok(t, c.get(base+"/"+id+"/fetch")).Raw
				wantBadRequest(t, c.post(base+"/"+id+"/update", `{"text":" ","source":"c.txt"}`), "text")
				if after := ok(t, c.get(base+"/"+id+"/fetch")).Raw; after != before {
					t.Errorf("refused update changed the record:\nbefore %s\nafter  %s", before, after)
				}
			})
		})

		t.Run("List", func(t *testing.T) {
			fresh := mustCreate(t, c, "/dataset/create", `{"name":"Paged"}`)
			var made []string
			for i := range 5 {
				made = append(made, mustCreate(t, c, "/dataset/"+fresh+"/record/create", fmt.Sprintf(`{"text":"Record %d"}`, i)))
			}
			// Another dataset's records are not listed.
			mustCreate(t, c, "/dataset/"+other+"/record/create", `{"text":"Elsewhere"}`)
			walkAndOrder(t, c, "/dataset/"+fresh+"/record/list", made, 5)
			items := ok(t, c.get("/dataset/"+fresh+"/record/list?take=1&order=asc")).items()
			if len(items) != 1 || items[0]["text"] != "Record 0" {
				t.Errorf("first record listed = %v, want Record 0", items)
			}
			empty := mustCreate(t, c, "/dataset/create", `{}`)
			r := ok(t, c.get("/dataset/"+empty+"/record/list"))
			if !strings.Contains(r.Raw, `"items":[]`) || r.str("cursor") != "" {
				t.Errorf("empty list = %s, want items [] and no cursor", r.Raw)
			}
			if got := streamedIDs(t, c, "/dataset/"+empty+"/record/list"); len(got) != 0 {
				t.Errorf("streamed empty list gave %v", got)
			}
		})

		t.Run("Delete", func(t *testing.T) {
			id := mustCreate(t, c, base+"/create", `{"text":"Delete me"}`)
			n := count(t, a.store, "dataset_records")
			if got := ok(t, c.post(base+"/"+id+"/delete", `{}`)).str("id"); got != id {
				t.Errorf("delete answered id %q", got)
			}
			if got := count(t, a.store, "dataset_records"); got != n-1 {
				t.Errorf("dataset_records = %d, want %d", got, n-1)
			}
			wantError(t, c.get(base+"/"+id+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(base+"/"+id+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(base+"/"+id+"/update", `{"text":"back"}`), http.StatusNotFound, "NOT_FOUND")
			ok(t, c.get("/dataset/"+ds+"/fetch"))
		})

		t.Run("OtherDatasetsRecord", func(t *testing.T) {
			id := mustCreate(t, c, base+"/create", `{"text":"Mine"}`)
			wrong := "/dataset/" + other + "/record/" + id
			wantError(t, c.get(wrong+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(wrong+"/update", `{"text":"Stolen"}`), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(wrong+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			wantValues(t, ok(t, c.get(base+"/"+id+"/fetch")).JSON, map[string]any{"text": "Mine"})
		})

		t.Run("Search", func(t *testing.T) {
			kb := mustCreate(t, c, "/dataset/create", `{"name":"Support","searchMaxRecords":3}`)
			texts := map[string]string{
				"refunds": "Refunds are paid back to the original card within fourteen days of a return.",
				"hours":   "The shop opens at nine in the morning and closes at six in the evening.",
				"pets":    "Our office cat sleeps on the warm windowsill every afternoon.",
				"ship":    "Parcels ship by courier and arrive in two to three working days.",
			}
			ids := map[string]string{}
			for k, text := range texts {
				ids[k] = mustCreate(t, c, "/dataset/"+kb+"/record/create", fmt.Sprintf(`{"text":%q,"source":%q}`, text, k+".md"))
			}
			// A record elsewhere is never found.
			mustCreate(t, c, "/dataset/"+other+"/record/create", `{"text":"Refunds refunds refunds: always refunds."}`)
			for _, q := range []struct{ query, want string }{
				{"How long do refunds take?", "refunds"},
				{"When does the shop open in the morning?", "hours"},
				{"where does the cat sleep", "pets"},
				{"How many days until my parcel arrives by courier?", "ship"},
			} {
				t.Run(q.want, func(t *testing.T) {
					r := ok(t, c.post("/dataset/"+kb+"/search", fmt.Sprintf(`{"search":%q}`, q.query)))
					if r.str("id") != kb {
						t.Errorf("search answered id %q, want the dataset's %q", r.str("id"), kb)
					}
					recs, _ := r.JSON["records"].([]any)
					if len(recs) == 0 || len(recs) > 3 {
						t.Fatalf("search %q: %d records, want 1 to 3: %s", q.query, len(recs), r.Raw)
					}
					top, _ := recs[0].(map[string]any)
					wantValues(t, top, map[string]any{"id": ids[q.want], "text": texts[q.want], "source": q.want + ".md", "meta": map[string]any{}})
					prev := 2.0
					for _, it := range recs {
						rec, _ := it.(map[string]any)
						score, isNum := rec["score"].(float64)
						if !isNum || score <= 0 || score > 1 {
							t.Errorf("score = %v, want a number in (0,1]", rec["score"])
						}
						if score > prev {
							t.Errorf("records not best first: %v after %v", score, prev)
						}
						prev = score
						if id := rec["id"].(string); !slices.Contains(slices.Collect(mapValues(ids)), id) {
							t.Errorf("search found %s, which is not in the dataset", id)
						}
					}
				})
			}
			t.Run("NoMatch", func(t *testing.T) {
				r := ok(t, c.post("/dataset/"+kb+"/search", `{"search":"xylophone quasar"}`))
				if !strings.Contains(r.Raw, `"records":[]`) {
					t.Errorf("no match = %s, want records []", r.Raw)
				}
			})
			t.Run("MaxRecordsHonoured", func(t *testing.T) {
				one := mustCreate(t, c, "/dataset/create", `{"searchMaxRecords":1}`)
				for _, text := range []string{"Refunds take a week.", "Refunds need a receipt.", "Refunds go to the card."} {
					mustCreate(t, c, "/dataset/"+one+"/record/create", fmt.Sprintf(`{"text":%q}`, text))
				}
				recs, _ := ok(t, c.post("/dataset/"+one+"/search", `{"search":"refunds"}`)).JSON["records"].([]any)
				if len(recs) != 1 {
					t.Errorf("searchMaxRecords 1: %d records", len(recs))
				}
			})
			t.Run("MinScoreHonoured", func(t *testing.T) {
				// A score is below 1 unless the database's rank is infinite: nothing reaches 1.
				strict := mustCreate(t, c, "/dataset/create", `{"searchMinScore":1}`)
				mustCreate(t, c, "/dataset/"+strict+"/record/create", `{"text":"Refunds take a week."}`)
				r := ok(t, c.post("/dataset/"+strict+"/search", `{"search":"refunds"}`))
				if !strings.Contains(r.Raw, `"records":[]`) {
					t.Errorf("searchMinScore 1 found %s", r.Raw)
				}
				ok(t, c.post("/dataset/"+strict+"/update", `{"searchMinScore":0}`))
				recs, _ := ok(t, c.post("/dataset/"+strict+"/search", `{"search":"refunds"}`)).JSON["records"].([]any)
				if len(recs) != 1 {
					t.Errorf("searchMinScore 0: %d records, want 1", len(recs))
				}
			})
			t.Run("BadRequests", func(t *testing.T) {
				wantBadRequest(t, c.post("/dataset/"+kb+"/search", `{}`), "search")
				wantBadRequest(t, c.post("/dataset/"+kb+"/search", `{"search":""}`), "search")
				wantBadRequest(t, c.post("/dataset/"+kb+"/search", `{"search":5}`), "search")
				wantBadRequest(t, c.post("/dataset/"+kb+"/search", `{"search":"refunds","filter":{"source":"refunds.md"}}`), "filter")
				wantBadRequest(t, c.post("/dataset/"+kb+"/search", `{"search":"refunds","limit":5}`), "")
				wantError(t, c.post("/dataset/"+models.NewID()+"/search", `{"search":"refunds"}`), http.StatusNotFound, "NOT_FOUND")
				wantError(t, c.post("/dataset/nope/search", `{"search":"refunds"}`), http.StatusNotFound, "NOT_FOUND")
			})
		})
	})
}

// postOverNetwork posts to a listening server, as a real client would.
func postOverNetwork(t *testing.T, base, path, token, body string) *apiResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+api.Prefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := &apiResp{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
	if err := json.Unmarshal(b, &out.JSON); err != nil {
		t.Fatalf("POST %s: %d, body is not a JSON object: %v: %s", path, res.StatusCode, err, b)
	}
	return out
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func TestAPISkillsets(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		fullWant := map[string]any{"name": "Shop tools", "description": "Orders and stock", "alias": "shop",
			"meta": map[string]any{"v": float64(1)}, "visibility": "public"}

		t.Run("CreateFullAndFetch", func(t *testing.T) {
			before := time.Now()
			id := mustCreate(t, c, "/skillset/create", `{"name":"Shop tools","description":"Orders and stock","alias":"shop","meta":{"v":1},"visibility":"public"}`)
			r := ok(t, c.get("/skillset/"+id+"/fetch"))
			wantTimes(t, r, before, time.Now())
			wantValues(t, r.JSON, fullWant)
			wantValues(t, r.JSON, map[string]any{"id": id})
		})

		t.Run("Defaults", func(t *testing.T) {
			id := mustCreate(t, c, "/skillset/create", `{}`)
			r := ok(t, c.get("/skillset/"+id+"/fetch"))
			wantValues(t, r.JSON, map[string]any{"name": "", "description": "", "meta": map[string]any{}, "visibility": "private"})
			wantAbsent(t, r.JSON, "alias")
		})

		t.Run("UpdatePartial", func(t *testing.T) {
			id := mustCreate(t, c, "/skillset/create", `{"name":"Shop tools","description":"Orders and stock","alias":"shop-2","meta":{"v":1},"visibility":"public"}`)
			want := map[string]any{}
			for k, v := range fullWant {
				want[k] = v
			}
			want["alias"] = "shop-2"
			created, _ := wantTimes(t, ok(t, c.get("/skillset/"+id+"/fetch")), time.Now().Add(-time.Minute), time.Now())
			for _, s := range []struct {
				name, body string
				changed    map[string]any
			}{
				{"Name", `{"name":"Till"}`, map[string]any{"name": "Till"}},
				{"Visibility", `{"visibility":"private"}`, map[string]any{"visibility": "private"}},
				{"Description", `{"description":""}`, map[string]any{"description": ""}},
				{"Nothing", `{}`, nil},
			} {
				t.Run(s.name, func(t *testing.T) {
					start := time.Now()
					if got := ok(t, c.post("/skillset/"+id+"/update", s.body)).str("id"); got != id {
						t.Errorf("update answered id %q", got)
					}
					for k, v := range s.changed {
						want[k] = v
					}
					r := ok(t, c.get("/skillset/"+id+"/fetch"))
					wantValues(t, r.JSON, want)
					c2, u2 := wantTimes(t, r, time.Now().Add(-time.Minute), time.Now())
					if c2 != created {
						t.Errorf("createdAt changed on update: %d, was %d", c2, created)
					}
					if len(s.changed) > 0 {
						wantBumped(t, u2, start)
					}
				})
			}
			before := ok(t, c.get("/skillset/"+id+"/fetch")).Raw
			wantBadRequest(t, c.post("/skillset/"+id+"/update", `{"name":"X","visibility":"everyone"}`), "visibility")
			wantBadRequest(t, c.post("/skillset/"+id+"/update", `{"name":"X","blueprintId":"`+models.NewID()+`"}`), "blueprintId")
			if after := ok(t, c.get("/skillset/"+id+"/fetch")).Raw; after != before {
				t.Errorf("refused update changed the skillset:\nbefore %s\nafter  %s", before, after)
			}
			wantError(t, c.post("/skillset/"+models.NewID()+"/update", `{}`), http.StatusNotFound, "NOT_FOUND")
		})

		t.Run("List", func(t *testing.T) {
			var made []string
			for i := range 5 {
				made = append(made, mustCreate(t, c, "/skillset/create", fmt.Sprintf(`{"name":"List %d"}`, i)))
			}
			walkAndOrder(t, c, "/skillset/list", made, int(count(t, a.store, "skillsets")))
		})

		t.Run("Delete", func(t *testing.T) {
			id := mustCreate(t, c, "/skillset/create", `{"name":"Doomed"}`)
			keep := mustCreate(t, c, "/skillset/create", `{"name":"Kept"}`)
			ab := mustCreate(t, c, "/skillset/"+id+"/ability/create", `{"name":"One"}`)
			mustCreate(t, c, "/skillset/"+id+"/ability/create", `{"name":"Two"}`)
			kept := mustCreate(t, c, "/skillset/"+keep+"/ability/create", `{"name":"Three"}`)
			bot := mustCreate(t, c, "/bot/create", `{"name":"User","skillsetId":"`+id+`"}`)
			abilities, bots := count(t, a.store, "abilities"), count(t, a.store, "bots")

			if got := ok(t, c.post("/skillset/"+id+"/delete", `{}`)).str("id"); got != id {
				t.Errorf("delete answered id %q", got)
			}
			if got := count(t, a.store, "abilities"); got != abilities-2 {
				t.Errorf("abilities = %d, want %d (its two abilities gone)", got, abilities-2)
			}
			if got := count(t, a.store, "bots"); got != bots {
				t.Errorf("bots = %d, want %d", got, bots)
			}
			r := ok(t, c.get("/bot/"+bot+"/fetch"))
			wantValues(t, r.JSON, map[string]any{"skillsetIds": []any{}})
			wantAbsent(t, r.JSON, "skillsetId")
			wantError(t, c.get("/skillset/"+id+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.get("/skillset/"+id+"/ability/"+ab+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post("/skillset/"+id+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			ok(t, c.get("/skillset/"+keep+"/ability/"+kept+"/fetch"))
		})
	})
}

func TestAPIAbilities(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		ks := mustCreate(t, c, "/skillset/create", `{"name":"Tools"}`)
		other := mustCreate(t, c, "/skillset/create", `{"name":"Other"}`)
		base := "/skillset/" + ks + "/ability"

		t.Run("CreateAndFetch", func(t *testing.T) {
			before := time.Now()
			id := mustCreate(t, c, base+"/create", `{"name":"Calculator","description":"Sums","instruction":"builtin calculator","meta":{"x":"y"}}`)
			r := ok(t, c.get(base+"/"+id+"/fetch"))
			wantTimes(t, r, before, time.Now())
			wantValues(t, r.JSON, map[string]any{"id": id, "name": "Calculator", "description": "Sums",
				"instruction": "builtin calculator", "meta": map[string]any{"x": "y"}})
			wantAbsent(t, r.JSON, "botId", "secretId", "fileId")
		})

		t.Run("NameRequired", func(t *testing.T) {
			for _, body := range []string{`{}`, ``, `{"name":""}`, `{"name":"   "}`, `{"description":"No name"}`} {
				t.Run(body, func(t *testing.T) {
					before := rowCounts(t, a)
					wantBadRequest(t, c.post(base+"/create", body), "name")
					wantSameCounts(t, a, before)
				})
			}
			before := rowCounts(t, a)
			wantBadRequest(t, c.post(base+"/create", `{"name":"X","spaceId":"s"}`), "spaceId")
			wantBadRequest(t, c.post(base+"/create", `{"name":"X","blueprintId":"b"}`), "blueprintId")
			wantError(t, c.post("/skillset/"+models.NewID()+"/ability/create", `{"name":"X"}`), http.StatusNotFound, "NOT_FOUND")
			wantSameCounts(t, a, before)
		})

		t.Run("UpdatePartial", func(t *testing.T) {
			id := mustCreate(t, c, base+"/create", `{"name":"Lookup","description":"Finds orders","instruction":"Look it up.","meta":{"k":1}}`)
			created, _ := wantTimes(t, ok(t, c.get(base+"/"+id+"/fetch")), time.Now().Add(-time.Minute), time.Now())
			want := map[string]any{"name": "Lookup", "description": "Finds orders", "instruction": "Look it up.", "meta": map[string]any{"k": float64(1)}}
			for _, s := range []struct {
				name, body string
				changed    map[string]any
			}{
				{"Description", `{"description":"Finds orders by number"}`, map[string]any{"description": "Finds orders by number"}},
				{"Instruction", `{"instruction":"builtin calculator"}`, map[string]any{"instruction": "builtin calculator"}},
				{"Name", `{"name":"Order lookup"}`, map[string]any{"name": "Order lookup"}},
				{"Nothing", `{}`, nil},
			} {
				t.Run(s.name, func(t *testing.T) {
					start := time.Now()
					if got := ok(t, c.post(base+"/"+id+"/update", s.body)).str("id"); got != id {
						t.Errorf("update answered id %q", got)
					}
					for k, v := range s.changed {
						want[k] = v
					}
					r := ok(t, c.get(base+"/"+id+"/fetch"))
					wantValues(t, r.JSON, want)
					c2, u2 := wantTimes(t, r, time.Now().Add(-time.Minute), time.Now())
					if c2 != created {
						t.Errorf("createdAt changed on update: %d, was %d", c2, created)
					}
					if len(s.changed) > 0 {
						wantBumped(t, u2, start)
					}
				})
			}
			before := ok(t, c.get(base+"/"+id+"/fetch")).Raw
			wantBadRequest(t, c.post(base+"/"+id+"/update", `{"name":"","description":"changed"}`), "name")
			wantBadRequest(t, c.post(base+"/"+id+"/update", `{"name":7}`), "name")
			if after := ok(t, c.get(base+"/"+id+"/fetch")).Raw; after != before {
				t.Errorf("refused update changed the ability:\nbefore %s\nafter  %s", before, after)
			}
		})

		t.Run("OtherSkillsetsAbility", func(t *testing.T) {
			id := mustCreate(t, c, base+"/create", `{"name":"Mine"}`)
			wrong := "/skillset/" + other + "/ability/" + id
			wantError(t, c.get(wrong+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(wrong+"/update", `{"name":"Stolen"}`), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(wrong+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			wantValues(t, ok(t, c.get(base+"/"+id+"/fetch")).JSON, map[string]any{"name": "Mine"})
		})

		t.Run("List", func(t *testing.T) {
			fresh := mustCreate(t, c, "/skillset/create", `{"name":"Paged"}`)
			var made []string
			for i := range 5 {
				made = append(made, mustCreate(t, c, "/skillset/"+fresh+"/ability/create", fmt.Sprintf(`{"name":"Ability %d"}`, i)))
			}
			mustCreate(t, c, "/skillset/"+other+"/ability/create", `{"name":"Elsewhere"}`)
			walkAndOrder(t, c, "/skillset/"+fresh+"/ability/list", made, 5)
			wantError(t, c.get("/skillset/"+models.NewID()+"/ability/list"), http.StatusNotFound, "NOT_FOUND")
		})

		t.Run("Delete", func(t *testing.T) {
			id := mustCreate(t, c, base+"/create", `{"name":"Doomed"}`)
			n := count(t, a.store, "abilities")
			if got := ok(t, c.post(base+"/"+id+"/delete", "")).str("id"); got != id {
				t.Errorf("delete answered id %q", got)
			}
			if got := count(t, a.store, "abilities"); got != n-1 {
				t.Errorf("abilities = %d, want %d", got, n-1)
			}
			wantError(t, c.get(base+"/"+id+"/fetch"), http.StatusNotFound, "NOT_FOUND")
			wantError(t, c.post(base+"/"+id+"/delete", `{}`), http.StatusNotFound, "NOT_FOUND")
			ok(t, c.get("/skillset/"+ks+"/fetch"))
		})
	})
}

func TestAPIBadInput(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.api()
		ds := mustCreate(t, c, "/dataset/create", `{"name":"D","alias":"d-alias"}`)
		ks := mustCreate(t, c, "/skillset/create", `{"name":"K"}`)
		bot := mustCreate(t, c, "/bot/create", `{"name":"B","datasetId":"`+ds+`"}`)
		rec := mustCreate(t, c, "/dataset/"+ds+"/record/create", `{"text":"R"}`)
		ab := mustCreate(t, c, "/skillset/"+ks+"/ability/create", `{"name":"A"}`)
		unknown := models.NewID()

		// Every case must be refused with the status, code and field named and
		// change no row, nor the existing bot, dataset and skillset.
		cases := []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"MalformedJSON", "POST", "/bot/create", `{"name":`, 400, "BAD_REQUEST", ""},
			{"MalformedJSONMiddle", "POST", "/dataset/create", `{"name":"x",}`, 400, "BAD_REQUEST", ""},
			{"ArrayBody", "POST", "/bot/create", `[{"name":"x"}]`, 400, "BAD_REQUEST", ""},
			{"EmptyArrayBody", "POST", "/skillset/create", `[]`, 400, "BAD_REQUEST", ""},
			{"NullBody", "POST", "/bot/create", `null`, 400, "BAD_REQUEST", ""},
			{"StringBody", "POST", "/bot/create", `"bot"`, 400, "BAD_REQUEST", ""},
			{"NameNumber", "POST", "/bot/create", `{"name": 5}`, 400, "BAD_REQUEST", "name"},
			{"PrivacyString", "POST", "/bot/create", `{"privacy": "yes"}`, 400, "BAD_REQUEST", "privacy"},
			{"MetaNotObject", "POST", "/bot/create", `{"meta": "x"}`, 400, "BAD_REQUEST", "meta"},
			{"SearchMaxRecordsString", "POST", "/dataset/create", `{"searchMaxRecords": "3"}`, 400, "BAD_REQUEST", "searchMaxRecords"},
			{"SearchMaxRecordsFraction", "POST", "/dataset/create", `{"searchMaxRecords": 2.5}`, 400, "BAD_REQUEST", "searchMaxRecords"},
			{"VisibilityUnknown", "POST", "/bot/create", `{"visibility": "nope"}`, 400, "BAD_REQUEST", "visibility"},
			{"DatasetVisibilityUnknown", "POST", "/dataset/create", `{"visibility": "nope"}`, 400, "BAD_REQUEST", "visibility"},
			{"UnknownField", "POST", "/bot/create", `{"colour": "red"}`, 400, "BAD_REQUEST", ""},
			{"UnknownFieldRecord", "POST", "/dataset/" + ds + "/record/create", `{"text":"x","colour": "red"}`, 400, "BAD_REQUEST", ""},
			{"TrailingData", "POST", "/bot/create", `{} {}`, 400, "BAD_REQUEST", ""},
			{"TrailingGarbage", "POST", "/skillset/create", `{"name":"x"} x`, 400, "BAD_REQUEST", ""},
			{"MinScoreAbove1", "POST", "/dataset/create", `{"searchMinScore": 2}`, 400, "BAD_REQUEST", "searchMinScore"},
			{"MinScoreNegative", "POST", "/dataset/create", `{"searchMinScore": -0.5}`, 400, "BAD_REQUEST", "searchMinScore"},
			{"MaxRecordsTooMany", "POST", "/dataset/create", `{"searchMaxRecords": 101}`, 400, "BAD_REQUEST", "searchMaxRecords"},
			{"MaxTokensNegative", "POST", "/dataset/create", `{"searchMaxTokens": -1}`, 400, "BAD_REQUEST", "searchMaxTokens"},
			{"MetaTooLarge", "POST", "/bot/create", `{"meta":{"big":"` + strings.Repeat("m", models.MaxMetaBytes) + `"}}`, 400, "BAD_REQUEST", "meta"},
			{"RecordMetaTooLarge", "POST", "/dataset/" + ds + "/record/create", `{"text":"x","meta":{"big":"` + strings.Repeat("m", models.MaxMetaBytes) + `"}}`, 400, "BAD_REQUEST", "meta"},
			{"RecordTextTooLong", "POST", "/dataset/" + ds + "/record/create", `{"text":"` + strings.Repeat("t", 100001) + `"}`, 400, "BAD_REQUEST", "text"},
			{"DatasetAliasTaken", "POST", "/dataset/create", `{"alias":"d-alias"}`, 409, "CONFLICT", ""},
			{"NameTooLong", "POST", "/bot/create", `{"name":"` + strings.Repeat("n", 201) + `"}`, 400, "BAD_REQUEST", "name"},
			{"UnknownDatasetID", "POST", "/bot/create", `{"name":"x","datasetId":"` + unknown + `"}`, 400, "BAD_REQUEST", "datasetId"},
			{"MalformedDatasetID", "POST", "/bot/create", `{"name":"x","datasetId":"nope"}`, 400, "BAD_REQUEST", "datasetId"},
			{"UnknownSkillsetID", "POST", "/bot/create", `{"name":"x","datasetId":"` + ds + `","skillsetId":"` + unknown + `"}`, 400, "BAD_REQUEST", "skillsetId"},
			{"BotBlueprint", "POST", "/bot/create", `{"blueprintId":"` + unknown + `"}`, 400, "BAD_REQUEST", "blueprintId"},
			{"DatasetBlueprint", "POST", "/dataset/create", `{"blueprintId":"bp"}`, 400, "BAD_REQUEST", "blueprintId"},
			{"SkillsetBlueprint", "POST", "/skillset/create", `{"blueprintId":"bp"}`, 400, "BAD_REQUEST", "blueprintId"},
			{"BotUpdateBlueprint", "POST", "/bot/" + bot + "/update", `{"name":"y","blueprintId":"bp"}`, 400, "BAD_REQUEST", "blueprintId"},
			{"BotUpdateWrongType", "POST", "/bot/" + bot + "/update", `{"name":"y","moderation":1}`, 400, "BAD_REQUEST", "moderation"},
			{"BotUpdateUnknownField", "POST", "/bot/" + bot + "/update", `{"name":"y","colour":"red"}`, 400, "BAD_REQUEST", ""},
			{"DatasetUpdateWrongType", "POST", "/dataset/" + ds + "/update", `{"searchMaxRecords":"3"}`, 400, "BAD_REQUEST", "searchMaxRecords"},
			{"DatasetMinScoreString", "POST", "/dataset/create", `{"searchMinScore":"0.5"}`, 400, "BAD_REQUEST", "searchMinScore"},
			{"DatasetNameNumber", "POST", "/dataset/create", `{"name":1}`, 400, "BAD_REQUEST", "name"},
			{"DatasetUpdateOutOfRange", "POST", "/dataset/" + ds + "/update", `{"name":"y","searchMinScore":1.5}`, 400, "BAD_REQUEST", "searchMinScore"},
			{"DeleteWithUnknownField", "POST", "/bot/" + bot + "/delete", `{"force":true}`, 400, "BAD_REQUEST", ""},
			{"DeleteWithArray", "POST", "/dataset/" + ds + "/delete", `[]`, 400, "BAD_REQUEST", ""},

			// Ids in the path.
			{"BotIDMalformed", "GET", "/bot/not-an-id/fetch", "", 404, "NOT_FOUND", ""},
			{"BotIDUnknown", "GET", "/bot/" + unknown + "/fetch", "", 404, "NOT_FOUND", ""},
			{"BotUpdateIDMalformed", "POST", "/bot/not-an-id/update", `{"name":"x"}`, 404, "NOT_FOUND", ""},
			{"BotDeleteIDMalformed", "POST", "/bot/" + strings.ToUpper(bot) + "x/delete", `{}`, 404, "NOT_FOUND", ""},
			{"BotDeleteIDSQL", "POST", "/bot/1%20OR%201=1/delete", `{}`, 404, "NOT_FOUND", ""},
			{"DatasetIDMalformed", "GET", "/dataset/123/fetch", "", 404, "NOT_FOUND", ""},
			{"DatasetDeleteIDMalformed", "POST", "/dataset/123/delete", "", 404, "NOT_FOUND", ""},
			{"RecordIDMalformed", "GET", "/dataset/" + ds + "/record/xyz/fetch", "", 404, "NOT_FOUND", ""},
			{"RecordDatasetMalformed", "GET", "/dataset/xyz/record/" + rec + "/fetch", "", 404, "NOT_FOUND", ""},
			{"RecordCreateDatasetMalformed", "POST", "/dataset/xyz/record/create", `{"text":"x"}`, 404, "NOT_FOUND", ""},
			{"RecordDeleteIDMalformed", "POST", "/dataset/" + ds + "/record/xyz/delete", "", 404, "NOT_FOUND", ""},
			{"SkillsetIDMalformed", "GET", "/skillset/abc/fetch", "", 404, "NOT_FOUND", ""},
			{"AbilityIDMalformed", "GET", "/skillset/" + ks + "/ability/abc/fetch", "", 404, "NOT_FOUND", ""},
			{"AbilityUpdateSkillsetMalformed", "POST", "/skillset/abc/ability/" + ab + "/update", `{"name":"x"}`, 404, "NOT_FOUND", ""},
			{"AbilityDeleteIDMalformed", "POST", "/skillset/" + ks + "/ability/abc/delete", "", 404, "NOT_FOUND", ""},
			{"GETOnCreate", "GET", "/bot/create", "", 404, "NOT_FOUND", ""},
		}
		// Bad paging, on every list.
		lists := []string{"/bot/list", "/dataset/list", "/skillset/list", "/dataset/" + ds + "/record/list", "/skillset/" + ks + "/ability/list"}
		for _, l := range lists {
			for _, q := range []struct{ name, query, field string }{
				{"TakeZero", "take=0", "take"},
				{"TakeTooMany", "take=101", "take"},
				{"TakeNegative", "take=-1", "take"},
				{"TakeNotNumber", "take=x", "take"},
				{"TakeFraction", "take=1.5", "take"},
				{"OrderUnknown", "order=up", "order"},
				{"CursorNotAnID", "cursor=notanid", "cursor"},
				{"UnknownParameter", "sort=name", "sort"},
				{"MetaFilter", "meta.team=support", "meta.team"},
			} {
				cases = append(cases, struct {
					name, method, path, body string
					status                   int
					code, field              string
				}{strings.Trim(strings.ReplaceAll(l, "/", "_"), "_") + "/" + q.name, "GET", l + "?" + q.query, "", 400, "BAD_REQUEST", q.field})
			}
		}

		snapshot := func(t *testing.T) string {
			t.Helper()
			return ok(t, c.get("/bot/"+bot+"/fetch")).Raw + ok(t, c.get("/dataset/"+ds+"/fetch")).Raw +
				ok(t, c.get("/skillset/"+ks+"/fetch")).Raw + ok(t, c.get("/dataset/"+ds+"/record/"+rec+"/fetch")).Raw
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, was := rowCounts(t, a), snapshot(t)
				r := c.do(tc.method, tc.path, tc.body)
				wantError(t, r, tc.status, tc.code)
				if tc.field != "" {
					wantField(t, r, tc.field)
				}
				wantSameCounts(t, a, before)
				if now := snapshot(t); now != was {
					t.Errorf("refused request changed a resource:\nbefore %s\nafter  %s", was, now)
				}
				// Asked for JSON lines, a refused list is still a JSON error, not a stream.
				if tc.method == "GET" && strings.Contains(tc.path, "/list?") {
					s := c.do(tc.method, tc.path, "", "Accept", "application/jsonl")
					wantError(t, s, tc.status, tc.code)
				}
			})
		}

		t.Run("UnknownFieldNamed", func(t *testing.T) {
			r := c.post("/bot/create", `{"colour":"red"}`)
			if !strings.Contains(r.str("message"), "colour") {
				t.Errorf("message %q does not name the unknown field", r.str("message"))
			}
		})

		t.Run("PagingBoundsAccepted", func(t *testing.T) {
			for _, q := range []string{"take=1", "take=100", "order=asc", "order=desc", "cursor=" + unknown, "take=5&order=asc&cursor=" + bot} {
				ok(t, c.get("/bot/list?"+q))
			}
		})

		// Over the body limit, fasthttp answers from the Content-Length before
		// any handler runs, and app.Test reports that as an error rather than
		// a response, so this runs on a real listener.
		t.Run("BodyTooLarge", func(t *testing.T) {
			srv := newServer(t, a.store, func(su *serverSetup) { su.Config.BodyLimit = 2048 })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			defer func() { _ = srv.App().Shutdown() }()
			before := rowCounts(t, a)
			for _, path := range []string{"/bot/create", "/dataset/" + ds + "/record/create", "/bot/" + bot + "/update"} {
				big := `{"name":"` + strings.Repeat("x", 4000) + `"}`
				if strings.Contains(path, "record") {
					big = `{"text":"` + strings.Repeat("x", 4000) + `"}`
				}
				wantError(t, postOverNetwork(t, "http://"+ln.Addr().String(), path, c.token, big),
					http.StatusRequestEntityTooLarge, "CONTENT_TOO_LARGE")
			}
			wantSameCounts(t, a, before)
			// Under the limit, the same server takes it.
			small := &apiClient{t: t, srv: srv, token: c.token}
			id := mustCreate(t, small, "/bot/create", `{"name":"`+strings.Repeat("y", 150)+`"}`)
			ok(t, c.get("/bot/"+id+"/fetch"))
		})
	})
}
