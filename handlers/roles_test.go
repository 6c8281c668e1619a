package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/models"
)

// Who may call each route, written out by hand: the test fails when the code's
// permissions drift from this table, or when a route is added without an entry.
const (
	anyone    = "public"
	signedIn  = "admin builder qa support"
	cfgRead   = "admin builder qa"
	cfgWrite  = "admin builder"
	convRead  = "admin builder qa support"
	convEdit  = "admin builder"
	convRun   = "admin builder qa"
	convRate  = "admin builder qa support"
	sessMgmt  = "admin builder"
	history   = "admin builder qa support"
	qaRead    = "admin builder qa"
	qaRun     = "admin builder qa"
	qaPropose = "admin builder qa support"
	adminOnly = "admin"
)

var routeRoles = map[string]string{
	"GET /healthz":        anyone,
	"GET /favicon.ico":    anyone,
	"GET /assets/:hash/*": anyone,
	"GET /setup":          anyone,
	"POST /setup":         anyone,
	"GET /login":          anyone,
	"POST /login":         anyone,
	// Platforms' webhooks: each request is authenticated by its integration's secret.
	"POST /channels/telegram/:integrationId": anyone,
	"POST /channels/webhook/:integrationId":  anyone,
	// The web chat widget: public, each session checked against the widget's origins.
	"GET /widget/:file":           anyone,
	"GET /widget/:id/config":      anyone,
	"OPTIONS /widget/:id/config":  anyone,
	"OPTIONS /widget/:id/session": anyone,
	"POST /widget/:id/session":    anyone,

	"GET /widgets":                      cfgRead,
	"GET /widgets/new":                  cfgWrite,
	"POST /widgets":                     cfgWrite,
	"GET /widgets/:id":                  cfgRead,
	"GET /widgets/:id/created":          cfgWrite,
	"GET /widgets/:id/edit":             cfgWrite,
	"POST /widgets/:id":                 cfgWrite,
	"GET /widgets/:id/delete":           cfgWrite,
	"POST /widgets/:id/delete":          cfgWrite,
	"GET /widgets/:id/identity-secret":  cfgWrite,
	"POST /widgets/:id/identity-secret": cfgWrite,
	"GET /widgets/:id/preview/config":   convRun,
	"POST /widgets/:id/preview/session": convRun,
	"POST /logout":                      signedIn,
	"GET /":                             signedIn,

	"GET /bots":               cfgRead,
	"GET /bots/:id":           cfgRead,
	"GET /bots/new":           cfgWrite,
	"POST /bots":              cfgWrite,
	"GET /bots/:id/edit":      cfgWrite,
	"POST /bots/:id":          cfgWrite,
	"GET /bots/:id/delete":    cfgWrite,
	"POST /bots/:id/delete":   cfgWrite,
	"POST /bots/:id/datasets": cfgWrite,
	"POST /bots/:id/datasets/:datasetId/detach":   cfgWrite,
	"POST /bots/:id/skillsets":                    cfgWrite,
	"POST /bots/:id/skillsets/:skillsetId/detach": cfgWrite,
	"GET /bots/:id/versions":                      history,
	"GET /bots/:id/versions/diff":                 history,
	"GET /bots/:id/versions/:n":                   history,
	"GET /bots/:id/versions/:n/restore":           cfgWrite,
	"POST /bots/:id/versions/:n/restore":          cfgWrite,

	"GET /datasets":                               cfgRead,
	"GET /datasets/:id":                           cfgRead,
	"GET /datasets/:id/search":                    cfgRead,
	"GET /datasets/:id/embedding":                 cfgRead,
	"GET /datasets/new":                           cfgWrite,
	"POST /datasets":                              cfgWrite,
	"GET /datasets/:id/edit":                      cfgWrite,
	"POST /datasets/:id":                          cfgWrite,
	"GET /datasets/:id/delete":                    cfgWrite,
	"POST /datasets/:id/delete":                   cfgWrite,
	"POST /datasets/:id/records":                  cfgWrite,
	"GET /datasets/:id/import":                    cfgWrite,
	"POST /datasets/:id/import":                   cfgWrite,
	"GET /datasets/:id/records/:recordId/edit":    cfgWrite,
	"POST /datasets/:id/records/:recordId":        cfgWrite,
	"GET /datasets/:id/records/:recordId/delete":  cfgWrite,
	"POST /datasets/:id/records/:recordId/delete": cfgWrite,
	"POST /datasets/:id/uploads":                  cfgWrite,
	"GET /datasets/:id/uploads/:uploadId":         cfgWrite,
	"POST /datasets/:id/uploads/:uploadId":        cfgWrite,
	"GET /datasets/:id/imports":                   cfgRead,
	"GET /datasets/:id/imports/:importId/undo":    cfgWrite,
	"POST /datasets/:id/imports/:importId/undo":   cfgWrite,
	"GET /datasets/:id/delete-records":            cfgWrite,
	"POST /datasets/:id/delete-records":           cfgWrite,

	"GET /skillsets":                                  cfgRead,
	"GET /skillsets/:id":                              cfgRead,
	"GET /skillsets/new":                              cfgWrite,
	"POST /skillsets":                                 cfgWrite,
	"GET /skillsets/:id/edit":                         cfgWrite,
	"POST /skillsets/:id":                             cfgWrite,
	"GET /skillsets/:id/delete":                       cfgWrite,
	"POST /skillsets/:id/delete":                      cfgWrite,
	"GET /skillsets/:id/abilities/new":                cfgWrite,
	"POST /skillsets/:id/abilities":                   cfgWrite,
	"GET /skillsets/:id/abilities/:abilityId/edit":    cfgWrite,
	"POST /skillsets/:id/abilities/:abilityId":        cfgWrite,
	"POST /skillsets/:id/abilities/:abilityId/try":    convRun,
	"GET /skillsets/:id/abilities/:abilityId":         cfgRead,
	"GET /skillsets/:id/abilities/:abilityId/delete":  cfgWrite,
	"POST /skillsets/:id/abilities/:abilityId/delete": cfgWrite,

	"GET /conversations/new":                           convRun,
	"POST /conversations":                              convRun,
	"POST /conversations/:id/turns":                    convRun,
	"POST /conversations/:id/retry":                    convRun,
	"POST /conversations/:id/restart":                  convRun,
	"POST /bots/:id/test":                              convRun,
	"POST /conversations/:id/bot":                      cfgWrite,
	"POST /conversations/:id/messages/:messageId/vote": convRate,
	"GET /conversations/:id/messages/:messageId":       convRead,
	"GET /conversations/:id/older":                     convRead,
	"GET /conversations/:id/events":                    convRead,
	"GET /conversations/:id/turns/:turnId/prompt":      cfgRead,
	"GET /conversations":                               convRead,
	"GET /conversations/:id":                           convRead,
	"GET /conversations/:id/delete":                    convEdit,
	// Support's review: status, assignee, tags (and a bot's list of them), notes.
	"POST /conversations/:id/review":                                 convRate,
	"POST /conversations/:id/tags":                                   convRate,
	"POST /conversations/:id/tags/:tagId":                            convRate,
	"GET /conversations/:id/tags/:tagId/delete":                      convRate,
	"POST /conversations/:id/tags/:tagId/delete":                     convRate,
	"POST /conversations/:id/messages/:messageId/tags":               convRate,
	"POST /conversations/:id/messages/:messageId/tags/:tagId/delete": convRate,
	"POST /conversations/:id/messages/:messageId/notes":              convRate,
	"POST /conversations/:id/notes/:noteId":                          convRate,
	"GET /conversations/export":                                      convRead,
	"GET /conversations/:id/export":                                  convRead,
	"GET /audit":                                                     adminOnly,
	"GET /analytics":                                                 convRead,
	"POST /operators/:id/personal-data":                              adminOnly,
	"POST /conversations/:id/messages/:messageId/corrections":        convRate,
	"POST /conversations/:id/corrections/:correctionId/accept":       cfgWrite,
	"POST /conversations/:id/delete":                                 convEdit,

	"GET /integrations":                     convRead,
	"GET /integrations/new":                 cfgWrite,
	"POST /integrations":                    cfgWrite,
	"GET /integrations/:id":                 cfgRead,
	"GET /integrations/:id/edit":            cfgWrite,
	"POST /integrations/:id":                cfgWrite,
	"POST /integrations/:id/setup":          cfgWrite,
	"GET /integrations/:id/rotate":          cfgWrite,
	"POST /integrations/:id/rotate":         cfgWrite,
	"GET /integrations/:id/delete":          cfgWrite,
	"POST /integrations/:id/delete":         cfgWrite,
	"GET /integrations/:id/events":          convRead,
	"GET /integrations/:id/events/:eventId": convRead,
	"GET /contacts":                         convRead,
	"GET /contacts/:id":                     convRead,

	"GET /session-tokens":                           sessMgmt,
	"GET /session-tokens/:id/revoke":                sessMgmt,
	"POST /session-tokens/:id/revoke":               sessMgmt,
	"GET /conversations/:id/session-tokens/revoke":  sessMgmt,
	"POST /conversations/:id/session-tokens/revoke": sessMgmt,

	"GET /qa":                        qaRead,
	"GET /qa/suites/new":             qaRun,
	"POST /qa/suites":                qaRun,
	"GET /qa/suites/:id":             qaRead,
	"GET /qa/suites/:id/edit":        qaRun,
	"POST /qa/suites/:id":            qaRun,
	"GET /qa/suites/:id/delete":      qaRun,
	"POST /qa/suites/:id/delete":     qaRun,
	"GET /qa/suites/:id/export":      qaRead,
	"GET /qa/suites/:id/import":      qaRun,
	"POST /qa/suites/:id/import":     qaRun,
	"POST /qa/suites/:id/checks":     qaRun,
	"GET /qa/checks/:id/delete":      qaRun,
	"POST /qa/checks/:id/delete":     qaRun,
	"POST /qa/suites/:id/runs":       qaRun,
	"GET /qa/cases/new":              qaPropose,
	"POST /qa/cases":                 qaPropose,
	"GET /qa/cases/:id":              qaRead,
	"GET /qa/cases/:id/edit":         qaRun,
	"POST /qa/cases/:id":             qaRun,
	"POST /qa/cases/:id/accept":      qaRun,
	"GET /qa/cases/:id/delete":       qaRun,
	"POST /qa/cases/:id/delete":      qaRun,
	"GET /qa/runs/:id":               qaRead,
	"GET /qa/runs/:id/events":        qaRead,
	"GET /qa/runs/:id/junit":         qaRead,
	"POST /qa/runs/:id/cancel":       qaRun,
	"GET /conversations/:id/replay":  qaRun,
	"POST /conversations/:id/replay": qaRun,
	"GET /qa/replays":                qaRead,
	"GET /qa/replays/:id":            qaRead,
	"GET /qa/replays/:id/events":     qaRead,
	"GET /datasets/:id/checks":       qaRead,
	"POST /datasets/:id/checks/run":  qaRun,

	"GET /operators":             adminOnly,
	"GET /operators/new":         adminOnly,
	"POST /operators":            adminOnly,
	"GET /operators/:id/edit":    adminOnly,
	"POST /operators/:id":        adminOnly,
	"GET /operators/:id/delete":  adminOnly,
	"POST /operators/:id/delete": adminOnly,

	"GET /secrets":             adminOnly,
	"GET /secrets/new":         adminOnly,
	"POST /secrets":            adminOnly,
	"GET /secrets/:id/created": adminOnly,
	"GET /secrets/:id/revoke":  adminOnly,
	"POST /secrets/:id/revoke": adminOnly,

	"GET /providers":             adminOnly,
	"GET /providers/new":         adminOnly,
	"POST /providers":            adminOnly,
	"GET /providers/:id/edit":    adminOnly,
	"POST /providers/:id":        adminOnly,
	"GET /providers/:id/delete":  adminOnly,
	"POST /providers/:id/delete": adminOnly,
	"POST /providers/:id/test":   adminOnly,
	"POST /providers/test":       adminOnly,
	"GET /vault":                 adminOnly,
	"GET /vault/new":             adminOnly,
	"POST /vault":                adminOnly,
	"GET /vault/:id/edit":        adminOnly,
	"POST /vault/:id":            adminOnly,
	"GET /vault/:id/delete":      adminOnly,
	"POST /vault/:id/delete":     adminOnly,
}

// fixtures are one of everything, so every route has real ids to work on.
type fixtures map[string]string

func newFixtures(t *testing.T, a *testApp) fixtures {
	t.Helper()
	ctx := context.Background()
	ds := mustDataset(t, a.store, "Roles dataset")
	rec, err := a.store.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "A record."})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := a.store.ImportBatch(ctx, models.DatasetImport{DatasetID: ds.ID, FileName: "roles.csv", Format: "csv"},
		[]models.DatasetRecord{{Text: "An imported record."}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := a.store.SaveUpload(ctx, models.DatasetUpload{DatasetID: ds.ID, FileName: "roles.csv", Content: []byte("question,answer\nWho?,Roles.\n")})
	if err != nil {
		t.Fatal(err)
	}
	ks := mustSkillset(t, a.store, "Roles skillset")
	ab, err := a.store.CreateAbility(ctx, models.Ability{SkillsetID: ks.ID, Name: "Clock"})
	if err != nil {
		t.Fatal(err)
	}
	bot := mustBot(t, a.store, "Roles bot")
	if err := a.store.AttachDataset(ctx, bot.ID, ds.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.store.AttachSkillset(ctx, bot.ID, ks.ID); err != nil {
		t.Fatal(err)
	}
	conv, err := a.store.CreateConversation(ctx, models.Conversation{BotID: &bot.ID}, []models.Message{{Type: models.MessageUser, Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	victim, err := a.store.CreateOperator(ctx, models.Operator{Email: "victim-" + models.NewID()[24:] + "@example.com", Role: models.RoleSupport}, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	sec, _, err := a.store.CreateSecret(ctx, "roles", nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := a.store.FindMessages(ctx, conv.ID, models.Page{})
	if err != nil || len(msgs) == 0 {
		t.Fatal(err)
	}
	turn, err := a.store.QueueTurn(ctx, conv.ID, msgs[0].ID, false)
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := a.store.CreateConversationSession(ctx, conv.ID, &sec.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	suite, err := a.store.CreateSuite(ctx, models.TestSuite{BotID: bot.ID, Name: "Roles suite " + models.NewID()[24:]})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := a.store.CreateCase(ctx, models.TestCase{SuiteID: suite.ID, Name: "Roles case", Turns: []models.CaseTurn{{User: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	check, err := a.store.CreateCheck(ctx, models.RetrievalCheck{SuiteID: suite.ID, DatasetID: ds.ID, Query: "record", RecordID: rec.ID, TopK: 3})
	if err != nil {
		t.Fatal(err)
	}
	run, err := a.store.CreateRun(ctx, models.TestRun{SuiteID: suite.ID, Target: models.TargetCurrent, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.FinishRun(ctx, run.ID, models.RunCancelled, "fixture"); err != nil {
		t.Fatal(err)
	}
	rp, err := a.store.CreateReplay(ctx, models.Replay{SourceConversationID: conv.ID, BotID: bot.ID, Target: models.TargetCurrent, Version: 1},
		[]models.ReplayTurn{{UserMessageID: msgs[0].ID, Text: "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.FinishReplay(ctx, rp.ID, models.RunInterrupted, "fixture"); err != nil {
		t.Fatal(err)
	}
	tag, err := a.store.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: "roles", Color: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	note, err := a.store.AddNote(ctx, conv.ID, msgs[0].ID, "roles note", models.Reviewer{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	return fixtures{"corrections": models.NewID(), "tags": tag.ID, "notes": note.ID, "messages": msgs[0].ID, "bots": bot.ID, "datasets": ds.ID, "records": rec.ID, "imports": imp.ID, "uploads": up.ID, "skillsets": ks.ID, "abilities": ab.ID,
		"conversations": conv.ID, "operators": victim.ID, "secrets": sec.ID, "turns": turn.ID, "session-tokens": tok.ID,
		"suites": suite.ID, "cases": tc.ID, "checks": check.ID, "runs": run.ID, "replays": rp.ID}
}

// fill replaces path parameters with fixture ids.
func (f fixtures) fill(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch p {
		case ":id":
			parts[i] = f[parts[i-1]]
		case ":datasetId":
			parts[i] = f["datasets"]
		case ":skillsetId":
			parts[i] = f["skillsets"]
		case ":recordId":
			parts[i] = f["records"]
		case ":importId":
			parts[i] = f["imports"]
		case ":uploadId":
			parts[i] = f["uploads"]
		case ":abilityId":
			parts[i] = f["abilities"]
		case ":messageId":
			parts[i] = f["messages"]
		case ":turnId":
			parts[i] = f["turns"]
		case ":eventId":
			parts[i] = f["events"]
		case ":tagId":
			parts[i] = f["tags"]
		case ":noteId":
			parts[i] = f["notes"]
		case ":correctionId":
			parts[i] = f["corrections"]
		case ":n":
			parts[i] = "1" // the roles bot's first version
		}
	}
	return strings.Join(parts, "/")
}

func TestEveryRouteEveryRole(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		registered := map[string]bool{}
		for _, r := range a.srv.Routes() {
			key := r.Method + " " + r.Path
			registered[key] = true
			want, ok := routeRoles[key]
			if !ok {
				t.Errorf("route %s is not in routeRoles: decide who may call it", key)
				continue
			}
			if r.Public != (want == anyone) {
				t.Errorf("route %s: public = %v, table says %q", key, r.Public, want)
			}
		}
		for key := range routeRoles {
			if !registered[key] {
				t.Errorf("routeRoles lists %s, but no such route is registered", key)
			}
		}

		for key, allowed := range routeRoles {
			if allowed == anyone {
				continue
			}
			method, path, _ := strings.Cut(key, " ")
			for _, role := range append([]string{"stranger"}, models.Roles...) {
				t.Run(strings.ReplaceAll(key, "/", "_")+"/"+role, func(t *testing.T) {
					f := newFixtures(t, a) // fresh ids: allowed POSTs may delete things
					addProviderFixtures(t, a, f)
					addChannelFixtures(t, a, f)
					addWidgetFixtures(t, a, f)
					target := f.fill(path)
					if key == "GET /conversations/:id/older" {
						target += "?before=" + f["messages"]
					}
					if key == "GET /datasets/:id/delete-records" {
						target += "?ids=" + f["records"] // the confirmation of deleting one chosen record
					}
					var c *client
					if role == "stranger" {
						c = a.anon()
						c.get("/login") // a stranger with a valid anonymous CSRF token
					} else {
						c = a.as(role)
					}
					var r *resp
					if method == "GET" {
						r = c.get(target)
					} else {
						r = c.post(target, url.Values{})
					}
					switch {
					case role == "stranger":
						if r.Status != 303 || !strings.HasPrefix(r.Location(), "/login") {
							t.Errorf("stranger %s %s = %d → %q, want 303 to /login", method, target, r.Status, r.Location())
						}
					case !strings.Contains(" "+allowed+" ", " "+role+" "):
						if r.Status != 403 {
							t.Errorf("%s %s %s = %d, want 403", role, method, target, r.Status)
						}
					default:
						if r.Status == 403 || r.Status >= 500 || (r.Status == 303 && strings.HasPrefix(r.Location(), "/login") && key != "POST /logout") {
							t.Errorf("%s %s %s = %d → %q, want it allowed", role, method, target, r.Status, r.Location())
						}
						if method == "GET" && r.Status != 200 {
							t.Errorf("%s GET %s = %d, want the page (200)", role, target, r.Status)
						}
						if strings.Contains(r.Body, "html/template") || strings.Contains(r.Body, "<no value>") {
							t.Errorf("%s GET %s renders a template problem", role, target)
						}
					}
				})
			}
		}
	})
}
