package store_test

import (
	"slices"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// mustTurn posts a user message to a conversation and answers it the way the
// engine does: with records retrieved (records > 0, from rec), and a bot
// answer (or, failed, an error entry). It returns the user and closing messages.
func mustTurn(t *testing.T, s *store.Store, convID, user, answer string, rec *models.DatasetRecord, failed bool) (*models.Message, *models.Message) {
	t.Helper()
	ctx := t.Context()
	um, turn, _, err := s.PostUserMessage(ctx, models.Message{ConversationID: convID, Type: models.MessageUser, Text: user}, true, 0)
	if err != nil {
		t.Fatalf("PostUserMessage: %v", err)
	}
	var conv models.Conversation
	if err := s.DB().First(&conv, "id = ?", convID).Error; err != nil {
		t.Fatal(err)
	}
	turn.BotID = conv.BotID
	if err := s.StartTurn(ctx, turn); err != nil {
		t.Fatalf("StartTurn: %v", err)
	}
	if rec != nil {
		turn.HeldContext = &models.Message{ID: models.NewID(), Type: models.MessageContext, Text: rec.Text}
		turn.Records = []models.TurnRecord{{RecordID: rec.ID, DatasetID: rec.DatasetID, Score: 0.8}}
	}
	closing := models.Message{Type: models.MessageBot, Text: answer}
	turn.Status, turn.EndReason = models.TurnDone, models.EndStop
	if failed {
		closing = models.Message{Type: models.MessageActivity, Text: answer}
		turn.Status, turn.EndReason, turn.ErrorStage, turn.Error = models.TurnFailed, models.EndError, "model", answer
	}
	out, err := s.FinishTurn(ctx, turn, closing)
	if err != nil {
		t.Fatalf("FinishTurn: %v", err)
	}
	return um, out
}

// supportFixture is a small set of conversations with everything the list
// filters by, counted by hand.
type supportFixture struct {
	botA, botB                         *models.Bot
	refund, parcel, failing, test, api *models.Conversation
	refundAnswer, parcelAnswer         *models.Message
	tag                                *models.Tag
	support                            *models.Operator
	integration                        *models.Integration
}

func mustSupportFixture(t *testing.T, s *store.Store) supportFixture {
	t.Helper()
	ctx := t.Context()
	var f supportFixture
	ds := mustDataset(t, s, "FAQ")
	rec := mustRecord(t, s, ds.ID, "Refunds are paid back within 5 days.")
	f.botA = mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Shop bot", Model: "local"}, DatasetIDs: []string{ds.ID}})
	f.botB = mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Chit-chat", Model: "local"}})
	f.support = mustOperator(t, s, "sam@example.com", models.RoleSupport)
	who := models.Reviewer{ID: f.support.ID, Name: "Sam"}

	f.refund = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Refund", ContactID: ptr("contact-1")})
	_, f.refundAnswer = mustTurn(t, s, f.refund.ID, "I want a refund for my order", "Refunds are paid back within 5 days.", rec, false)
	if _, err := s.Rate(ctx, f.refund.ID, f.refundAnswer.ID, models.Rater{Key: "operator:" + f.support.ID, Kind: models.RaterOperator, Name: "Sam"}, 1, ""); err != nil {
		t.Fatal(err)
	}

	f.parcel = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Parcel"})
	_, f.parcelAnswer = mustTurn(t, s, f.parcel.ID, "Where is my parcel?", "I don't know: nothing in my knowledge base covers that.", nil, false)
	if _, err := s.Rate(ctx, f.parcel.ID, f.parcelAnswer.ID, models.Rater{Key: "session:x", Kind: models.RaterEndUser, Name: "end user"}, -1, ""); err != nil {
		t.Fatal(err)
	}

	f.failing = mustConversation(t, s, models.Conversation{BotID: &f.botB.ID, Name: "Failing"})
	mustTurn(t, s, f.failing.ID, "hello there", "the model is unavailable", nil, true)

	f.test = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "QA scratch", Kind: models.ConversationTest})
	mustMessage(t, s, f.test.ID, models.MessageUser, "refund in a test")

	f.api = mustConversation(t, s, models.Conversation{BotID: &f.botB.ID, Name: "Channel"})
	mustMessage(t, s, f.api.ID, models.MessageUser, "refund please")
	mustMessage(t, s, f.api.ID, models.MessageContext, "refund policy from retrieval (not searchable)")
	useBox(t, s, 7)
	f.integration, _ = mustIntegration(t, s, models.IntegrationWebhook)
	if err := s.DB().Exec("UPDATE conversations SET integration_id = ? WHERE id = ?", f.integration.ID, f.api.ID).Error; err != nil {
		t.Fatal(err)
	}

	var err error
	if f.tag, err = s.CreateTag(ctx, models.Tag{BotID: f.botA.ID, Name: "wrong answer", Color: "red"}); err != nil {
		t.Fatal(err)
	}
	if err := s.TagMessage(ctx, f.parcel.ID, f.parcelAnswer.ID, f.tag.ID, who); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReviewStatus(ctx, f.parcel.ID, models.ReviewNeedsFix, who); err != nil {
		t.Fatal(err)
	}
	if err := s.AssignConversation(ctx, f.refund.ID, f.support.ID, who); err != nil {
		t.Fatal(err)
	}
	return f
}

func rowNames(rows []models.ConversationRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Name)
	}
	return out
}

func TestFindConversationRowsFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := mustSupportFixture(t, s)
		q := func(mod func(*models.ConversationQuery)) models.ConversationQuery {
			var cq models.ConversationQuery
			mod(&cq)
			return cq
		}
		cases := []struct {
			name string
			q    models.ConversationQuery
			want []string // newest first
		}{
			{"All real, newest first", q(func(*models.ConversationQuery) {}), []string{"Channel", "Failing", "Parcel", "Refund"}},
			{"IncludeTests", q(func(c *models.ConversationQuery) { c.IncludeTests = true }), []string{"Channel", "QA scratch", "Failing", "Parcel", "Refund"}},
			{"Bot", q(func(c *models.ConversationQuery) { c.BotID = f.botA.ID }), []string{"Parcel", "Refund"}},
			{"Integration", q(func(c *models.ConversationQuery) { c.IntegrationID = f.integration.ID }), []string{"Channel"}},
			{"Contact", q(func(c *models.ConversationQuery) { c.ContactID = "contact-1" }), []string{"Refund"}},
			{"RatingUp", q(func(c *models.ConversationQuery) { c.Rating = models.RatingUp }), []string{"Refund"}},
			{"RatingDown", q(func(c *models.ConversationQuery) { c.Rating = models.RatingDown }), []string{"Parcel"}},
			{"RatingDownByOperator", q(func(c *models.ConversationQuery) { c.Rating, c.RaterKind = models.RatingDown, models.RaterOperator }), nil},
			{"RatingDownByEndUser", q(func(c *models.ConversationQuery) { c.Rating, c.RaterKind = models.RatingDown, models.RaterEndUser }), []string{"Parcel"}},
			{"Tag", q(func(c *models.ConversationQuery) { c.TagID = f.tag.ID }), []string{"Parcel"}},
			{"ReviewNeedsFix", q(func(c *models.ConversationQuery) { c.ReviewStatus = models.ReviewNeedsFix }), []string{"Parcel"}},
			{"ReviewNew", q(func(c *models.ConversationQuery) { c.ReviewStatus = models.ReviewNew }), []string{"Channel", "Failing", "Refund"}},
			{"Assignee", q(func(c *models.ConversationQuery) { c.AssigneeID = f.support.ID }), []string{"Refund"}},
			{"HasError", q(func(c *models.ConversationQuery) { c.HasError = true }), []string{"Failing"}},
			{"Unanswered", q(func(c *models.ConversationQuery) { c.Unanswered = true }), []string{"Parcel"}},
			{"Combined", q(func(c *models.ConversationQuery) { c.BotID, c.Rating = f.botA.ID, models.RatingUp }), []string{"Refund"}},
			{"CombinedNone", q(func(c *models.ConversationQuery) { c.BotID, c.HasError = f.botA.ID, true }), nil},
			{"MalformedIDMatchesNothing", q(func(c *models.ConversationQuery) { c.TagID = "x'; DROP TABLE tags" }), nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rows, _, err := s.FindConversationRows(t.Context(), tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if got := rowNames(rows); !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("Figures", func(t *testing.T) {
			rows, _, err := s.FindConversationRows(t.Context(), models.ConversationQuery{})
			if err != nil {
				t.Fatal(err)
			}
			by := map[string]models.ConversationRow{}
			for _, r := range rows {
				by[r.Name] = r
			}
			r := by["Refund"]
			// user, context, bot
			if r.MessageCount != 3 || r.FirstUserMessage != "I want a refund for my order" || r.Up != 1 || r.Down != 0 || r.HasError ||
				r.AssigneeName != "" && r.AssigneeID == nil || models.Deref(r.AssigneeID) != f.support.ID || r.ReviewStatus != models.ReviewNew {
				t.Errorf("Refund row = %+v", r)
			}
			if r.LastActivity.Before(r.CreatedAt) {
				t.Errorf("last activity %v before creation %v", r.LastActivity, r.CreatedAt)
			}
			p := by["Parcel"]
			if p.MessageCount != 2 || p.EndUserDown != 1 || p.Down != 0 || p.ReviewStatus != models.ReviewNeedsFix {
				t.Errorf("Parcel row = %+v", p)
			}
			if !by["Failing"].HasError {
				t.Error("Failing has no error badge")
			}
			if c := by["Channel"]; c.IntegrationName != f.integration.Name || c.IntegrationType != models.IntegrationWebhook {
				t.Errorf("Channel row channel = %q %q", c.IntegrationName, c.IntegrationType)
			}
		})
		t.Run("Pages", func(t *testing.T) {
			var got []string
			cursor := ""
			for range 10 {
				rows, next, err := s.FindConversationRows(t.Context(), models.ConversationQuery{ConversationFilter: models.ConversationFilter{Page: models.Page{Limit: 3, Cursor: cursor}}})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rowNames(rows)...)
				if cursor = next; cursor == "" {
					break
				}
			}
			if want := []string{"Channel", "Failing", "Parcel", "Refund"}; !slices.Equal(got, want) {
				t.Errorf("pages = %v, want %v", got, want)
			}
		})
	})
}

func TestSearchMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := mustSupportFixture(t, s)
		search := func(text string, mod func(*models.MessageSearch)) []string {
			t.Helper()
			q := models.MessageSearch{Text: text}
			if mod != nil {
				mod(&q)
			}
			hits, _, err := s.SearchMessages(t.Context(), q)
			if err != nil {
				t.Fatalf("SearchMessages(%q): %v", text, err)
			}
			var out []string
			for _, h := range hits {
				out = append(out, h.ConversationName+": "+h.Text)
			}
			return out
		}
		cases := []struct {
			name, text string
			mod        func(*models.MessageSearch)
			want       []string
		}{
			{"StemmedUserAndBot", "refunds", nil, []string{"Channel: refund please", "Refund: Refunds are paid back within 5 days.", "Refund: I want a refund for my order"}},
			{"EveryWord", "refund order", nil, []string{"Refund: I want a refund for my order"}},
			{"WithFilter", "refund", func(q *models.MessageSearch) { q.BotID = f.botA.ID }, []string{"Refund: Refunds are paid back within 5 days.", "Refund: I want a refund for my order"}},
			{"TestsIncluded", "refund", func(q *models.MessageSearch) { q.IncludeTests = true; q.BotID = f.botA.ID }, []string{"QA scratch: refund in a test", "Refund: Refunds are paid back within 5 days.", "Refund: I want a refund for my order"}},
			{"ContextNotSearched", "retrieval", nil, nil},
			{"SyntaxIsText", `parcel" OR "hello*`, nil, nil},
			{"NoWords", "  ?! ", nil, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if got := search(tc.text, tc.mod); !slices.Equal(got, tc.want) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
		t.Run("Pages", func(t *testing.T) {
			// One hit a page: each page is found among the newest messages
			// below its cursor (PostgreSQL's window), the last by the index.
			var got []string
			cursor := ""
			for range 10 {
				hits, next, err := s.SearchMessages(t.Context(), models.MessageSearch{Text: "refund",
					ConversationQuery: models.ConversationQuery{ConversationFilter: models.ConversationFilter{Page: models.Page{Limit: 1, Cursor: cursor}}}})
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hits {
					got = append(got, h.Text)
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			if want := []string{"refund please", "Refunds are paid back within 5 days.", "I want a refund for my order"}; !slices.Equal(got, want) {
				t.Errorf("pages = %q, want %q", got, want)
			}
		})
		t.Run("EditedAndDeletedFollow", func(t *testing.T) {
			m := mustMessage(t, s, f.failing.ID, models.MessageUser, "zebra crossing")
			if got := search("zebra", nil); len(got) != 1 {
				t.Fatalf("new message not found: %v", got)
			}
			if _, err := s.UpdateMessage(t.Context(), models.Message{ID: m.ID, ConversationID: f.failing.ID, Type: models.MessageUser, Text: "giraffe"}); err != nil {
				t.Fatal(err)
			}
			if got := search("zebra", nil); got != nil {
				t.Errorf("edited away text still found: %v", got)
			}
			if got := search("giraffe", nil); len(got) != 1 {
				t.Errorf("edited text not found: %v", got)
			}
			if err := s.DeleteConversation(t.Context(), f.failing.ID); err != nil {
				t.Fatal(err)
			}
			if got := search("giraffe", nil); got != nil {
				t.Errorf("deleted message still found: %v", got)
			}
		})
	})
}
