package handlers

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
)

// mustCreateSkillset inserts a skillset straight into the store.
func mustCreateSkillset(t *testing.T, a *testApp, k models.Skillset) *models.Skillset {
	t.Helper()
	got, err := a.store.CreateSkillset(context.Background(), k)
	if err != nil {
		t.Fatalf("CreateSkillset: %v", err)
	}
	return got
}

// mustCreateAbility inserts an ability of skillsetID straight into the store.
func mustCreateAbility(t *testing.T, a *testApp, skillsetID, name string) *models.Ability {
	t.Helper()
	got, err := a.store.CreateAbility(context.Background(), models.Ability{SkillsetID: skillsetID, Name: name,
		Description: "Use when " + name + " helps.", Instruction: "Do " + name + "."})
	if err != nil {
		t.Fatalf("CreateAbility: %v", err)
	}
	return got
}

// mustCreateSkillsetBot inserts a bot that uses the skillsets.
func mustCreateSkillsetBot(t *testing.T, a *testApp, name string, skillsetIDs ...string) *models.Bot {
	t.Helper()
	b, err := a.store.CreateBot(context.Background(), store.BotInput{Bot: models.Bot{Name: name, Model: "local"}, SkillsetIDs: skillsetIDs})
	if err != nil {
		t.Fatalf("CreateBot: %v", err)
	}
	return b
}

// mustCountSkillsets counts the skillsets in the store.
func mustCountSkillsets(t *testing.T, a *testApp) int64 {
	t.Helper()
	counts, err := a.store.Counts(context.Background())
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return counts["skillsets"]
}

// mustFindAbilities returns up to 100 abilities of a skillset.
func mustFindAbilities(t *testing.T, a *testApp, skillsetID string) []models.Ability {
	t.Helper()
	as, _, err := a.store.FindAbilities(context.Background(), skillsetID, models.Page{Limit: models.MaxPageSize})
	if err != nil {
		t.Fatalf("FindAbilities: %v", err)
	}
	return as
}

var (
	abilityRowID     = regexp.MustCompile(`<tr id="ability-([0-9a-f-]{36})">`)
	skillsetNextPage = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

func TestSkillsetCreate(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleBuilder)
		t.Run("OK", func(t *testing.T) {
			r := c.post("/skillsets", url.Values{"name": {"  Support tools  "}, "description": {"Tools for <support>"}, "meta": {`{"team": "support"}`}})
			wantStatus(t, r, 303)
			id := createdID(t, r)
			if r.Location() != "/skillsets/"+id {
				t.Errorf("redirect = %q, want /skillsets/%s", r.Location(), id)
			}
			show := c.get(r.Location())
			wantStatus(t, show, 200)
			wantBody(t, show, "<h1>Support tools</h1>", "Tools for &lt;support&gt;", `Skillset &#34;Support tools&#34; created.`,
				`href="/skillsets/`+id+`/abilities/new"`, "No abilities yet", "No bot uses this skillset yet", "&#34;team&#34;")
			list := c.get("/skillsets")
			wantStatus(t, list, 200)
			wantBody(t, list, `<a href="/skillsets/`+id+`">Support tools</a>`)
			k, err := a.store.FindSkillset(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if k.Name != "Support tools" || k.Meta["team"] != "support" {
				t.Errorf("stored skillset = %+v", k)
			}
		})
		for _, tt := range []struct {
			name   string
			form   url.Values
			field  string
			want   []string
			absent []string
		}{
			{
				name:  "ErrNameRequired",
				form:  url.Values{"name": {"   "}, "description": {"typed & kept"}},
				field: "name",
				want:  []string{`<p class="error-text" id="e-name">Name is required.</p>`, "typed &amp; kept"},
			},
			{
				name:  "ErrNameTooLong",
				form:  url.Values{"name": {strings.Repeat("n", 201)}},
				field: "name",
				want:  []string{`<p class="error-text" id="e-name">Name must be at most 200 characters.</p>`},
			},
			{
				name:  "ErrMetaNotObject",
				form:  url.Values{"name": {"Tools"}, "description": {"kept"}, "meta": {`["a", "b"]`}},
				field: "meta",
				want:  []string{`<p class="error-text" id="e-meta">Meta must be a JSON object`, `value="Tools"`, ">kept</textarea>", "[&#34;a&#34;, &#34;b&#34;]"},
			},
			{
				name:  "ErrMetaNotJSON",
				form:  url.Values{"name": {"Tools"}, "meta": {`{team: support`}},
				field: "meta",
				want:  []string{`<p class="error-text" id="e-meta">Meta must be a JSON object`, "{team: support</textarea>"},
			},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := mustCountSkillsets(t, a)
				r := c.post("/skillsets", tt.form)
				wantStatus(t, r, 422)
				wantBody(t, r, tt.want...)
				wantBody(t, r, `id="f-`+tt.field+`"`, `aria-invalid="true" aria-describedby="e-`+tt.field+`"`, "<title>New skillset · Parley</title>")
				if got := mustCountSkillsets(t, a); got != before {
					t.Errorf("skillsets = %d after an invalid form, want %d", got, before)
				}
			})
		}
		t.Run("OKHtmx", func(t *testing.T) {
			r := c.htmx("/skillsets", url.Values{"name": {"Via htmx"}})
			wantStatus(t, r, 204)
			if id := createdID(t, r); r.Location() != "/skillsets/"+id {
				t.Errorf("HX-Redirect = %q", r.Location())
			}
		})
	})
}

func TestSkillsetUpdate(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleBuilder)
		alias := "support-tools"
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Old", Alias: &alias, Visibility: models.VisibilityPublic, Meta: models.Meta{"x": "y"}})

		t.Run("EditShowsValues", func(t *testing.T) {
			r := c.get("/skillsets/" + k.ID + "/edit")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Edit Old · Parley</title>", `value="Old"`, "&#34;x&#34;: &#34;y&#34;", `action="/skillsets/`+k.ID+`"`, "Save skillset")
		})
		t.Run("ErrNameRequired", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID, url.Values{"name": {""}, "description": {"new words"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name is required.`, "new words</textarea>")
			got, err := a.store.FindSkillset(context.Background(), k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Old" || got.Description != "" {
				t.Errorf("an invalid form changed the skillset: %+v", got)
			}
		})
		t.Run("OKKeepsHiddenFields", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID, url.Values{"name": {"New"}, "description": {"Now described"}, "meta": {""}})
			wantStatus(t, r, 303)
			if r.Location() != "/skillsets/"+k.ID {
				t.Errorf("redirect = %q", r.Location())
			}
			got, err := a.store.FindSkillset(context.Background(), k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "New" || got.Description != "Now described" || len(got.Meta) != 0 {
				t.Errorf("saved skillset = %+v", got)
			}
			if got.Alias == nil || *got.Alias != alias || got.Visibility != models.VisibilityPublic {
				t.Errorf("update lost fields the form does not show: alias %v, visibility %q", got.Alias, got.Visibility)
			}
			wantBody(t, c.get(r.Location()), "<h1>New</h1>", "Skillset saved.")
		})
	})
}

func TestSkillsetNotFound(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleAdmin)
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Real"})
		ab := mustCreateAbility(t, a, k.ID, "Real ability")
		unknown := models.NewID()
		for _, id := range []struct{ name, skillset, ability string }{
			{"UnknownSkillset", unknown, ab.ID},
			{"MalformedSkillset", "not-an-id", ab.ID},
			{"UnknownAbility", k.ID, unknown},
			{"MalformedAbility", k.ID, "1%20OR%201=1"},
		} {
			t.Run(id.name, func(t *testing.T) {
				paths := []struct{ method, path string }{
					{"GET", "/skillsets/" + id.skillset + "/abilities/" + id.ability + "/edit"},
					{"POST", "/skillsets/" + id.skillset + "/abilities/" + id.ability},
					{"GET", "/skillsets/" + id.skillset + "/abilities/" + id.ability + "/delete"},
					{"POST", "/skillsets/" + id.skillset + "/abilities/" + id.ability + "/delete"},
				}
				if id.skillset != k.ID {
					paths = append(paths, []struct{ method, path string }{
						{"GET", "/skillsets/" + id.skillset},
						{"GET", "/skillsets/" + id.skillset + "/edit"},
						{"POST", "/skillsets/" + id.skillset},
						{"GET", "/skillsets/" + id.skillset + "/delete"},
						{"POST", "/skillsets/" + id.skillset + "/delete"},
						{"GET", "/skillsets/" + id.skillset + "/abilities/new"},
						{"POST", "/skillsets/" + id.skillset + "/abilities"},
					}...)
				}
				for _, p := range paths {
					var r *resp
					if p.method == "GET" {
						r = c.get(p.path)
					} else {
						r = c.post(p.path, url.Values{"name": {"Changed"}})
					}
					if r.Status != 404 {
						t.Errorf("%s %s = %d, want 404", p.method, p.path, r.Status)
					}
				}
			})
		}
		t.Run("BadCursor", func(t *testing.T) {
			wantStatus(t, c.get("/skillsets/"+k.ID+"?cursor=nope"), 422)
			wantStatus(t, c.get("/skillsets?cursor=nope"), 422)
		})
		if got := mustFindAbilities(t, a, k.ID); len(got) != 1 || got[0].Name != "Real ability" {
			t.Errorf("abilities after the 404s = %+v", got)
		}
	})
}

func TestSkillsetAbilities(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleBuilder)
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Tools"})
		var abilityID string

		t.Run("NewForm", func(t *testing.T) {
			r := c.get("/skillsets/" + k.ID + "/abilities/new")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>New ability · Parley</title>", `<label for="f-name">`, `<label for="f-description">When to use it`,
				`<label for="f-instruction">`, `name="action" value="builtin:datetime"`, "HTTP fetch", `name="switch" value="json"`, "The model reads this to decide",
				`action="/skillsets/`+k.ID+`/abilities"`, "Add ability")
		})
		t.Run("ErrNameRequired", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities", url.Values{"name": {" "}, "description": {"Use when asked the date."}, "instruction": {"Say the date."}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name is required.`, "Use when asked the date.</textarea>", "Say the date.</textarea>")
			if got := mustFindAbilities(t, a, k.ID); len(got) != 0 {
				t.Errorf("an invalid form wrote %d abilities", len(got))
			}
		})
		t.Run("ErrMetaNotObject", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities", url.Values{"name": {"Date"}, "meta": {`"builtin:datetime"`}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-meta">Meta must be a JSON object`, `value="Date"`)
			if got := mustFindAbilities(t, a, k.ID); len(got) != 0 {
				t.Errorf("an invalid form wrote %d abilities", len(got))
			}
		})
		t.Run("CreateOK", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities", url.Values{"name": {"Date"}, "description": {"Use when the answer depends on today."},
				"instruction": {"Tell the date in UTC."}, "meta": {`{"action": "builtin:datetime"}`}})
			wantStatus(t, r, 303)
			got := mustFindAbilities(t, a, k.ID)
			if len(got) != 1 || got[0].Name != "Date" || got[0].Meta["action"] != "builtin:datetime" {
				t.Fatalf("abilities = %+v", got)
			}
			abilityID = got[0].ID
			if r.Location() != "/skillsets/"+k.ID+"/abilities/"+abilityID {
				t.Errorf("redirect = %q, want the ability's page (to try it)", r.Location())
			}
			page := c.get(r.Location())
			wantBody(t, page, `Ability &#34;Date&#34; added.`, "Built-in date and time", `id="ability-try"`)
			show := c.get("/skillsets/" + k.ID)
			wantBody(t, show, `<tr id="ability-`+abilityID+`">`, "Use when the answer depends on today.",
				"builtin:datetime", "Tell the date in UTC.",
				`href="/skillsets/`+k.ID+`/abilities/`+abilityID+`/edit">Edit<span class="sr"> ability Date</span>`,
				`href="/skillsets/`+k.ID+`/abilities/`+abilityID+`/delete">Delete<span class="sr"> ability Date</span>`)
		})
		t.Run("EditOK", func(t *testing.T) {
			edit := c.get("/skillsets/" + k.ID + "/abilities/" + abilityID + "/edit")
			wantStatus(t, edit, 200)
			wantBody(t, edit, "<title>Edit ability Date · Parley</title>", `value="Date"`, "Tell the date in UTC.</textarea>", `name="action" value="builtin:datetime" checked`, "Save ability")
			r := c.post("/skillsets/"+k.ID+"/abilities/"+abilityID, url.Values{"name": {"Date and time"}, "description": {"Use for dates and times."},
				"instruction": {"Tell the time too."}, "meta": {`{"action": "builtin:datetime"}`}})
			wantStatus(t, r, 303)
			got, err := a.store.FindAbility(context.Background(), k.ID, abilityID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Date and time" || got.Description != "Use for dates and times." || got.Instruction != "Tell the time too." || got.SkillsetID != k.ID {
				t.Errorf("saved ability = %+v", got)
			}
		})
		t.Run("EditErrNameRequired", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/abilities/"+abilityID, url.Values{"name": {""}, "instruction": {"typed"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-name">Name is required.`, "typed</textarea>")
			if got, _ := a.store.FindAbility(context.Background(), k.ID, abilityID); got == nil || got.Name != "Date and time" {
				t.Errorf("an invalid form changed the ability: %+v", got)
			}
		})
		t.Run("OtherSkillsetsURL", func(t *testing.T) {
			other := mustCreateSkillset(t, a, models.Skillset{Name: "Other"})
			base := "/skillsets/" + other.ID + "/abilities/" + abilityID
			wantStatus(t, c.get(base+"/edit"), 404)
			wantStatus(t, c.post(base, url.Values{"name": {"Hijacked"}}), 404)
			wantStatus(t, c.get(base+"/delete"), 404)
			wantStatus(t, c.post(base+"/delete", nil), 404)
			got, err := a.store.FindAbility(context.Background(), k.ID, abilityID)
			if err != nil || got.Name != "Date and time" {
				t.Errorf("ability after requests through another skillset = %+v, %v", got, err)
			}
		})
		t.Run("DeleteOK", func(t *testing.T) {
			mustCreateSkillsetBot(t, a, "Helper", k.ID)
			confirm := c.get("/skillsets/" + k.ID + "/abilities/" + abilityID + "/delete")
			wantStatus(t, confirm, 200)
			wantBody(t, confirm, "Delete ability &#34;Date and time&#34;?", "Bot Helper uses this skillset and will no longer have this ability.",
				`action="/skillsets/`+k.ID+`/abilities/`+abilityID+`/delete"`, "Delete ability</button>", "Cancel")
			r := c.post("/skillsets/"+k.ID+"/abilities/"+abilityID+"/delete", nil)
			wantStatus(t, r, 303)
			if r.Location() != "/skillsets/"+k.ID {
				t.Errorf("redirect = %q", r.Location())
			}
			if _, err := a.store.FindAbility(context.Background(), k.ID, abilityID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("FindAbility after delete: %v, want not found", err)
			}
			wantBody(t, c.get(r.Location()), "Ability &#34;Date and time&#34; deleted.", "No abilities yet")
		})
	})
}

func TestSkillsetAbilitiesPagination(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleQA)
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Many"})
		for i := 1; i <= 30; i++ {
			mustCreateAbility(t, a, k.ID, fmt.Sprintf("Ability %02d", i))
		}
		first := c.get("/skillsets/" + k.ID)
		wantStatus(t, first, 200)
		rows := abilityRowID.FindAllStringSubmatch(first.Body, -1)
		if len(rows) != models.DefaultPageSize {
			t.Fatalf("first page shows %d abilities, want %d", len(rows), models.DefaultPageSize)
		}
		m := skillsetNextPage.FindStringSubmatch(first.Body)
		if m == nil {
			t.Fatalf("first page has no Next page link:\n%s", shorten(first.Body, 3000))
		}
		next := html.UnescapeString(m[1])
		if !strings.HasPrefix(next, "/skillsets/"+k.ID+"?cursor=") {
			t.Errorf("Next page link = %q", next)
		}
		second := c.get(next)
		wantStatus(t, second, 200)
		rows2 := abilityRowID.FindAllStringSubmatch(second.Body, -1)
		if len(rows2) != 5 {
			t.Fatalf("second page shows %d abilities, want 5", len(rows2))
		}
		wantNoBody(t, second, `rel="next"`)
		wantBody(t, second, `href="/skillsets/`+k.ID+`">« First page</a>`)
		seen := map[string]bool{}
		for _, r := range append(rows, rows2...) {
			seen[r[1]] = true
		}
		if len(seen) != 30 {
			t.Errorf("the two pages show %d distinct abilities, want 30", len(seen))
		}
		// A reader sees no edit links.
		wantNoBody(t, first, "/edit", "New ability")
	})
}

func TestSkillsetDelete(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleBuilder)
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Doomed"})
		keep := mustCreateSkillset(t, a, models.Skillset{Name: "Kept"})
		mustCreateAbility(t, a, k.ID, "One")
		mustCreateAbility(t, a, k.ID, "Two")
		beta := mustCreateSkillsetBot(t, a, "Beta", k.ID, keep.ID)
		alpha := mustCreateSkillsetBot(t, a, "Alpha", k.ID)

		t.Run("ConfirmNamesBots", func(t *testing.T) {
			r := c.get("/skillsets/" + k.ID + "/delete")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Delete Doomed · Parley</title>", "Delete skillset &#34;Doomed&#34;?",
				"It is used by bots Alpha, Beta: deleting detaches it from them.", "Its 2 abilities are deleted with it.",
				`action="/skillsets/`+k.ID+`/delete"`, "Delete skillset</button>", `href="/skillsets/`+k.ID+`">Cancel</a>`)
			if got := mustCountSkillsets(t, a); got != 2 {
				t.Errorf("the confirmation page deleted something: %d skillsets", got)
			}
		})
		t.Run("ConfirmOneBot", func(t *testing.T) {
			r := c.get("/skillsets/" + keep.ID + "/delete")
			wantBody(t, r, "It is used by bot Beta: deleting detaches it from that bot.", "It has no abilities.")
		})
		t.Run("ShowListsBots", func(t *testing.T) {
			r := c.get("/skillsets/" + k.ID)
			wantBody(t, r, `<a href="/bots/`+alpha.ID+`">Alpha</a>`, `<a href="/bots/`+beta.ID+`">Beta</a>`)
		})
		t.Run("OK", func(t *testing.T) {
			r := c.post("/skillsets/"+k.ID+"/delete", nil)
			wantStatus(t, r, 303)
			if r.Location() != "/skillsets" {
				t.Errorf("redirect = %q, want /skillsets", r.Location())
			}
			ctx := context.Background()
			if _, err := a.store.FindSkillset(ctx, k.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("FindSkillset after delete: %v, want not found", err)
			}
			for _, b := range []*models.Bot{alpha, beta} {
				got, err := a.store.FindBot(ctx, b.ID)
				if err != nil {
					t.Fatalf("bot %s after deleting its skillset: %v", b.Name, err)
				}
				for _, s := range got.Skillsets {
					if s.ID == k.ID {
						t.Errorf("bot %s still has the deleted skillset", b.Name)
					}
				}
			}
			if got, _ := a.store.FindBot(ctx, beta.ID); got == nil || len(got.Skillsets) != 1 || got.Skillsets[0].ID != keep.ID {
				t.Errorf("bot Beta lost its other skillset: %+v", got)
			}
			list := c.get("/skillsets")
			wantBody(t, list, "Skillset &#34;Doomed&#34; deleted.", "Kept")
			wantNoBody(t, list, `href="/skillsets/`+k.ID+`"`)
		})
	})
}

func TestSkillsetEmptyList(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		r := a.as(models.RoleBuilder).get("/skillsets")
		wantStatus(t, r, 200)
		wantBody(t, r, "<title>Skillsets · Parley</title>", "No skillsets yet", `<a class="button" href="/skillsets/new">Create your first skillset</a>`)
		r = a.as(models.RoleQA).get("/skillsets")
		wantBody(t, r, "No skillsets yet", "Ask a builder or an admin")
		wantNoBody(t, r, `href="/skillsets/new"`)
	})
}

func TestSkillsetPermissions(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Readable"})
		ab := mustCreateAbility(t, a, k.ID, "Readable ability")
		for _, tt := range []struct {
			role, method, path string
			want               int
		}{
			{models.RoleQA, "GET", "/skillsets", 200},
			{models.RoleQA, "GET", "/skillsets/" + k.ID, 200},
			{models.RoleQA, "GET", "/skillsets/new", 403},
			{models.RoleQA, "POST", "/skillsets", 403},
			{models.RoleQA, "POST", "/skillsets/" + k.ID, 403},
			{models.RoleQA, "POST", "/skillsets/" + k.ID + "/delete", 403},
			{models.RoleQA, "POST", "/skillsets/" + k.ID + "/abilities", 403},
			{models.RoleQA, "POST", "/skillsets/" + k.ID + "/abilities/" + ab.ID + "/delete", 403},
			{models.RoleSupport, "GET", "/skillsets", 403},
			{models.RoleSupport, "GET", "/skillsets/" + k.ID, 403},
			{models.RoleBuilder, "GET", "/skillsets/new", 200},
			{models.RoleAdmin, "GET", "/skillsets/" + k.ID + "/edit", 200},
		} {
			t.Run(tt.role+tt.method+tt.path, func(t *testing.T) {
				c := a.as(tt.role)
				var r *resp
				if tt.method == "GET" {
					r = c.get(tt.path)
				} else {
					r = c.post(tt.path, url.Values{"name": {"Written"}})
				}
				wantStatus(t, r, tt.want)
			})
		}
		if n := mustCountSkillsets(t, a); n != 1 {
			t.Errorf("skillsets = %d, want 1: a forbidden request wrote", n)
		}
		if got := mustFindAbilities(t, a, k.ID); len(got) != 1 || got[0].Name != "Readable ability" {
			t.Errorf("abilities = %+v: a forbidden request wrote", got)
		}
		if got, _ := a.store.FindSkillset(context.Background(), k.ID); got == nil || got.Name != "Readable" {
			t.Errorf("skillset = %+v: a forbidden request wrote", got)
		}
	})
}

func TestSkillsetCSRF(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		c := a.as(models.RoleAdmin)
		k := mustCreateSkillset(t, a, models.Skillset{Name: "Guarded"})
		ab := mustCreateAbility(t, a, k.ID, "Guarded ability")
		for _, tt := range []struct{ name, path, csrf string }{
			{"CreateNoToken", "/skillsets", ""},
			{"CreateForged", "/skillsets", "forged"},
			{"Update", "/skillsets/" + k.ID, ""},
			{"Delete", "/skillsets/" + k.ID + "/delete", ""},
			{"AbilityCreate", "/skillsets/" + k.ID + "/abilities", ""},
			{"AbilityUpdate", "/skillsets/" + k.ID + "/abilities/" + ab.ID, ""},
			{"AbilityDelete", "/skillsets/" + k.ID + "/abilities/" + ab.ID + "/delete", "forged"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := c.post(tt.path, url.Values{"_csrf": {tt.csrf}, "name": {"Forged"}})
				wantStatus(t, r, 403)
			})
		}
		if n := mustCountSkillsets(t, a); n != 1 {
			t.Errorf("skillsets = %d, want 1", n)
		}
		if got, _ := a.store.FindSkillset(context.Background(), k.ID); got == nil || got.Name != "Guarded" {
			t.Errorf("skillset = %+v after forged requests", got)
		}
		if got := mustFindAbilities(t, a, k.ID); len(got) != 1 || got[0].Name != "Guarded ability" {
			t.Errorf("abilities = %+v after forged requests", got)
		}
	})
}
