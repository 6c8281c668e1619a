package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"parley/models"
)

func TestSupportSearch(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		support := a.as(models.RoleSupport)
		bot := convTestBot(t, a, "Shop")
		other := convTestBot(t, a, "Other")
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Card trouble"},
			models.Message{Type: models.MessageUser, Text: "My <script>alert(1)</script> refund for card 4111 1111 1111 1111 never came"},
			models.Message{Type: models.MessageBot, Text: "Refunds take five days."})
		convTestConversation(t, a, models.Conversation{BotID: &other.ID, Name: "Elsewhere"},
			models.Message{Type: models.MessageUser, Text: "refund elsewhere"})

		t.Run("HighlightedEscapedLinked", func(t *testing.T) {
			r := support.get("/conversations?q=refund")
			wantStatus(t, r, 200)
			wantBody(t, r, "<mark>refund</mark>", "<mark>Refunds</mark>", "&lt;script&gt;", "Card trouble", "Elsewhere", `?at=`, `#m-`)
			wantNoBody(t, r, "<script>alert(1)")
		})
		t.Run("MaskedForSupport", func(t *testing.T) {
			r := support.get("/conversations?q=refund+card")
			wantBody(t, r, "•••• 1111")
			wantNoBody(t, r, "4111 1111 1111 1111")
			wantBody(t, a.as(models.RoleBuilder).get("/conversations?q=refund+card"), "4111 1111 1111 1111")
			// A search for the personal data itself finds nothing it would show.
			wantBody(t, support.get("/conversations?q=4111"), "No messages found")
			wantBody(t, a.as(models.RoleAdmin).get("/conversations?q=4111"), "<mark>4111</mark>")
		})
		t.Run("CombinedWithBotFilter", func(t *testing.T) {
			r := support.get("/conversations?q=refund&bot=" + other.ID)
			wantBody(t, r, "Elsewhere", `<option value="`+other.ID+`" selected>`, `value="refund"`)
			wantNoBody(t, r, "Card trouble")
		})
		t.Run("NoHits", func(t *testing.T) {
			r := support.get("/conversations?q=zeppelin")
			wantStatus(t, r, 200)
			wantBody(t, r, "No messages found", "zeppelin")
		})
		t.Run("HitOpensItsPage", func(t *testing.T) {
			msgs, _, err := a.store.FindMessages(context.Background(), conv.ID, models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			// Bury the hit under more than a page of newer messages.
			for range models.DefaultPageSize + 5 {
				if _, err := a.store.CreateMessage(context.Background(), models.Message{ConversationID: conv.ID, Type: models.MessageUser, Text: "later"}); err != nil {
					t.Fatal(err)
				}
			}
			wantNoBody(t, support.get("/conversations/"+conv.ID), `id="m-`+msgs[0].ID+`"`)
			r := support.get("/conversations/" + conv.ID + "?at=" + msgs[0].ID)
			wantStatus(t, r, 200)
			wantBody(t, r, `id="m-`+msgs[0].ID+`"`, "card •••• 1111")
			wantStatus(t, support.get("/conversations/"+conv.ID+"?at=nope"), 422)
		})
	})
}

func TestSupportFilters(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support := a.as(models.RoleSupport)
		bot := convTestBot(t, a, "Shop")
		first := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "First one", ContactID: ptrTo("c-42")},
			models.Message{Type: models.MessageUser, Text: "hello, mail me at jane@example.com"})
		second := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Second one"},
			models.Message{Type: models.MessageUser, Text: "second question"})
		who := models.Reviewer{ID: a.ops[models.RoleSupport].ID, Name: "Support"}
		if err := a.store.SetReviewStatus(ctx, second.ID, models.ReviewNeedsFix, who); err != nil {
			t.Fatal(err)
		}
		if err := a.store.AssignConversation(ctx, first.ID, who.ID, who); err != nil {
			t.Fatal(err)
		}

		t.Run("Columns", func(t *testing.T) {
			r := support.get("/conversations")
			wantStatus(t, r, 200)
			wantBody(t, r, "First user message", "hello, mail me at j•••@example.com", "Needs fix", "· Support")
			wantNoBody(t, r, "jane@example.com")
		})
		cases := []struct {
			name, query string
			want, not   []string
			status      int
		}{
			{"Status", "status=needs_fix", []string{"Second one"}, []string{"First one"}, 200},
			{"MyQueue", "assignee=me", []string{"First one", "<h1>My queue</h1>"}, []string{"Second one"}, 200},
			{"Contact", "contact=c-42", []string{"First one"}, []string{"Second one"}, 200},
			{"NoMatch", "error=1", []string{"No conversations match these filters"}, []string{"First one"}, 200},
			{"PagerKeepsFilters", "status=new&limit=1", []string{"First one"}, nil, 200},
			{"BadStatusShownNotApplied", "status=bogus", []string{"Choose a review status from the list.", "First one", "Second one"}, nil, 422},
			{"BadTag", "tag=nope", []string{"The tag filter is not valid."}, nil, 422},
			{"BadBot", "botId=nope", []string{"The bot filter is not valid."}, nil, 422},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := support.get("/conversations?" + tc.query)
				wantStatus(t, r, tc.status)
				wantBody(t, r, tc.want...)
				wantNoBody(t, r, tc.not...)
			})
		}
		t.Run("FilterLinksFromOtherPages", func(t *testing.T) {
			wantStatus(t, support.get("/conversations?integration="+models.NewID()), 200)
			wantBody(t, support.get("/conversations?contact=c-42"), `value="c-42"`)
		})
	})
}

func ptrTo[T any](v T) *T { return &v }

func TestSupportReview(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support := a.as(models.RoleSupport)
		bot := convTestBot(t, a, "Shop")
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Review me"},
			models.Message{Type: models.MessageUser, Text: "question"}, models.Message{Type: models.MessageBot, Text: "a wrong answer"})
		msgs, _, err := a.store.FindMessages(ctx, conv.ID, models.Page{Order: models.OrderAsc})
		if err != nil {
			t.Fatal(err)
		}
		answer := msgs[1]
		base := "/conversations/" + conv.ID

		t.Run("CreateTag", func(t *testing.T) {
			r := support.htmx(base+"/tags", url.Values{"name": {"wrong <answer>"}, "color": {"red"}})
			wantStatus(t, r, 200)
			wantBody(t, r, `id="review-card"`, "wrong &lt;answer&gt;", "tag-red")
		})
		t.Run("ErrDuplicateTagKeepsInput", func(t *testing.T) {
			r := support.htmx(base+"/tags", url.Values{"name": {"wrong <answer>"}, "color": {"blue"}})
			wantStatus(t, r, 422)
			wantBody(t, r, "This bot already has a tag with that name.", `value="wrong &lt;answer&gt;"`, `<option value="blue" selected>`)
		})
		t.Run("ErrBadColour", func(t *testing.T) {
			wantStatus(t, support.htmx(base+"/tags", url.Values{"name": {"x"}, "color": {"pink"}}), 422)
			tags, _ := a.store.FindTags(ctx, bot.ID)
			if len(tags) != 1 {
				t.Errorf("%d tags after bad input, want 1", len(tags))
			}
		})
		tags, err := a.store.FindTags(ctx, bot.ID)
		if err != nil || len(tags) != 1 {
			t.Fatalf("tags = %v, %v", tags, err)
		}
		tag := tags[0]
		t.Run("TagMessage", func(t *testing.T) {
			r := support.htmx(base+"/messages/"+answer.ID+"/tags", url.Values{"tagId": {tag.ID}})
			wantStatus(t, r, 200)
			wantBody(t, r, `id="m-`+answer.ID+`"`, `class="tag tag-red"`, "tagged by Support")
			wantBody(t, support.get("/conversations?tag="+tag.ID), "Review me")
		})
		t.Run("ErrTagOfAnotherBot", func(t *testing.T) {
			otherBot := convTestBot(t, a, "Other")
			ot, err := a.store.CreateTag(ctx, models.Tag{BotID: otherBot.ID, Name: "elsewhere", Color: "blue"})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, support.htmx(base+"/messages/"+answer.ID+"/tags", url.Values{"tagId": {ot.ID}}), 422)
		})
		t.Run("NoteWithHistory", func(t *testing.T) {
			r := support.htmx(base+"/messages/"+answer.ID+"/notes", url.Values{"text": {"Should mention the <b>5 days</b>"}})
			wantStatus(t, r, 200)
			wantBody(t, r, "Note by Support", "Should mention the &lt;b&gt;5 days&lt;/b&gt;")
			notes, _ := a.store.FindNotes(ctx, conv.ID, []string{answer.ID})
			n := notes[answer.ID][0]
			r = a.as(models.RoleQA).htmx(base+"/notes/"+n.ID, url.Values{"text": {"Mention 5 working days"}})
			wantStatus(t, r, 200)
			wantBody(t, r, "Mention 5 working days", "Earlier versions (1)", "replaced by Qa")
			wantStatus(t, support.htmx(base+"/notes/"+n.ID, url.Values{"text": {"   "}}), 422)
		})
		t.Run("StatusAndAssignee", func(t *testing.T) {
			r := support.htmx(base+"/review", url.Values{"status": {models.ReviewNeedsFix}, "assignee": {"me"}})
			wantStatus(t, r, 200)
			wantBody(t, r, `<option value="needs_fix" selected>`, "Review saved.", "Support: New → Needs fix", "Support: assigned to Support")
			wantBody(t, support.get("/conversations?assignee=me&status=needs_fix"), "Review me")
			wantStatus(t, support.htmx(base+"/review", url.Values{"status": {"bogus"}}), 422)
			wantStatus(t, support.htmx(base+"/review", url.Values{"status": {"new"}, "assignee": {models.NewID()}}), 422)
		})
		t.Run("Untag", func(t *testing.T) {
			r := support.htmx(base+"/messages/"+answer.ID+"/tags/"+tag.ID+"/delete", nil)
			wantStatus(t, r, 200)
			wantNoBody(t, r, `class="tag tag-red"`)
		})
		t.Run("EveryChangeAttributed", func(t *testing.T) {
			evs, _, err := a.store.FindReviewEvents(ctx, conv.ID, models.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				if e.ActorName == "" || e.CreatedAt.IsZero() {
					t.Errorf("event %+v lacks who or when", e)
				}
				got = append(got, e.Action)
			}
			if want := "untag assign status note note tag"; strings.Join(got, " ") != want {
				t.Errorf("events = %v, want %s", got, want)
			}
		})
		t.Run("TranscriptShowsReview", func(t *testing.T) {
			r := support.get(base)
			wantStatus(t, r, 200)
			wantBody(t, r, `id="review-card"`, "Mention 5 working days", `name="tagId"`)
			wantNoBody(t, support.get(base), `href="/bots/`+bot.ID+`/edit"`)
		})
	})
}

func TestSupportCorrection(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		support, builder := a.as(models.RoleSupport), a.as(models.RoleBuilder)
		ds, err := a.store.CreateDataset(ctx, models.Dataset{Name: "FAQ"})
		if err != nil {
			t.Fatal(err)
		}
		bot := convTestBot(t, a, "Shop")
		if err := a.store.AttachDataset(ctx, bot.ID, ds.ID); err != nil {
			t.Fatal(err)
		}
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Fix me"},
			models.Message{Type: models.MessageUser, Text: "how long do refunds take?"}, models.Message{Type: models.MessageBot, Text: "No idea."})
		msgs, _, _ := a.store.FindMessages(ctx, conv.ID, models.Page{Order: models.OrderAsc})
		base := "/conversations/" + conv.ID

		wantStatus(t, support.htmx(base+"/messages/"+msgs[0].ID+"/corrections", url.Values{"text": {"x"}}), 422) // not an answer
		wantStatus(t, support.htmx(base+"/messages/"+msgs[1].ID+"/corrections", url.Values{"text": {" "}}), 422)
		r := support.htmx(base+"/messages/"+msgs[1].ID+"/corrections", url.Values{"text": {"Refunds take 5 working days."}})
		wantStatus(t, r, 200)
		wantBody(t, r, "Correction suggested by Support", "waiting for a builder")
		wantNoBody(t, r, "Make it a dataset record") // support cannot accept
		corrs, _ := a.store.FindCorrections(ctx, conv.ID, []string{msgs[1].ID})
		corr := corrs[msgs[1].ID][0]
		wantStatus(t, support.htmx(base+"/corrections/"+corr.ID+"/accept", url.Values{"datasetId": {ds.ID}}), 403)

		wantBody(t, builder.get(base), "Make it a dataset record")
		r = builder.htmx(base+"/corrections/"+corr.ID+"/accept", url.Values{"datasetId": {ds.ID}})
		wantStatus(t, r, 200)
		wantBody(t, r, "accepted into a dataset by Builder")
		recs, _, err := a.store.FindRecords(ctx, ds.ID, models.Page{})
		if err != nil || len(recs) != 1 || recs[0].Text != "Refunds take 5 working days." {
			t.Fatalf("records = %+v, %v", recs, err)
		}
		wantStatus(t, builder.htmx(base+"/corrections/"+corr.ID+"/accept", url.Values{"datasetId": {ds.ID}}), 409)
	})
}

func TestSeePersonalData(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		bot := convTestBot(t, a, "Shop")
		conv := convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "PII"},
			models.Message{Type: models.MessageUser, Text: "IBAN GB82 WEST 1234 5698 7654 32, phone +44 20 7946 0958"})
		sup := a.ops[models.RoleSupport]
		page := "/conversations/" + conv.ID
		wantNoBody(t, a.as(models.RoleSupport).get(page), "GB82 WEST", "7946 0958")
		wantBody(t, a.as(models.RoleSupport).get(page), "IBAN GB•• •••• 5432", "phone •••• 58")
		wantBody(t, a.as(models.RoleQA).get(page), "GB82 WEST 1234 5698 7654 32")

		admin := a.as(models.RoleAdmin)
		wantBody(t, admin.get("/operators"), "Let support@example.com see personal data")
		wantStatus(t, a.as(models.RoleBuilder).post("/operators/"+sup.ID+"/personal-data", url.Values{"see": {"1"}}), 403)
		wantStatus(t, admin.post("/operators/"+sup.ID+"/personal-data", url.Values{"see": {"maybe"}}), 422)
		wantStatus(t, admin.post("/operators/"+sup.ID+"/personal-data", url.Values{"see": {"1"}}), 303)
		wantBody(t, a.as(models.RoleSupport).get(page), "GB82 WEST 1234 5698 7654 32")
		evs, _, _ := a.store.FindAuditEvents(context.Background(), models.AuditFilter{ObjectType: "operators"})
		if len(evs) != 1 || evs[0].ObjectID != sup.ID {
			t.Errorf("grant not audited: %+v", evs)
		}
		wantStatus(t, admin.post("/operators/"+sup.ID+"/personal-data", url.Values{"see": {"0"}}), 303)
		wantNoBody(t, a.as(models.RoleSupport).get(page), "GB82 WEST")
	})
}

func TestAnalyticsPage(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		bot := convTestBot(t, a, "Shop")
		convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "Counted"},
			models.Message{Type: models.MessageUser, Text: "hello"}, models.Message{Type: models.MessageBot, Text: "hi"})
		convTestConversation(t, a, models.Conversation{BotID: &bot.ID, Name: "QA", Kind: models.ConversationTest},
			models.Message{Type: models.MessageUser, Text: "test"})
		r := a.as(models.RoleBuilder).get("/analytics")
		wantStatus(t, r, 200)
		wantBody(t, r, `<dd id="fig-conversations">1</dd>`, `<dd id="fig-messages">2</dd>`, "<svg", `role="img"`, "Tokens by model", "Conversations per day")
		wantBody(t, a.as(models.RoleBuilder).get("/analytics?tests=1"), `<dd id="fig-conversations">2</dd>`)
		r = a.as(models.RoleSupport).get("/analytics?bot=" + bot.ID)
		wantStatus(t, r, 200)
		wantBody(t, r, `<dd id="fig-conversations">1</dd>`, "Top unanswered questions")
		wantNoBody(t, r, "Tokens by model", "Retrieved records")
		wantStatus(t, a.as(models.RoleSupport).get("/analytics?from=nope"), 422)
		wantBody(t, a.as(models.RoleSupport).get("/analytics?from=2001-01-01&to=2001-01-02"), "Nothing in this range")
	})
}
