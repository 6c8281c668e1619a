package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// ignoreBotDB ignores what the store fills in on a bot.
var ignoreBotDB = cmpopts.IgnoreFields(models.Bot{}, "ID", "CreatedAt", "UpdatedAt", "Datasets", "Skillsets", "VersionID")

func TestCreateBot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			want := models.Bot{
				Alias: ptr("support"), Name: "Support", Description: "Answers customers.",
				Backstory: "You are a helpful assistant.", Model: "local", Privacy: true, Moderation: true,
				Visibility: models.VisibilityPublic,
				Meta:       models.Meta{"team": "cx", "level": 2.0, "tags": []any{"a", "b"}, "nested": map[string]any{"ok": true}},
			}
			before := time.Now().Add(-time.Minute)
			got, err := s.CreateBot(t.Context(), store.BotInput{Bot: want})
			if err != nil {
				t.Fatalf("CreateBot: %v", err)
			}
			if !models.ValidID(got.ID) {
				t.Errorf("ID = %q, not a valid id", got.ID)
			}
			if diff := cmp.Diff(want, *got, ignoreBotDB); diff != "" {
				t.Errorf("created bot (-want +got):\n%s", diff)
			}
			if got.CreatedAt.Before(before) || got.UpdatedAt.Before(before) {
				t.Errorf("CreatedAt = %v, UpdatedAt = %v, want about now", got.CreatedAt, got.UpdatedAt)
			}
			found, err := s.FindBot(t.Context(), got.ID)
			if err != nil {
				t.Fatalf("FindBot: %v", err)
			}
			if diff := cmp.Diff(got, found, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("FindBot after create (-created +found):\n%s", diff)
			}
		})
		t.Run("Defaults", func(t *testing.T) {
			got := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "  Plain  ", Alias: ptr("  ")}})
			if got.Name != "Plain" {
				t.Errorf("Name = %q, want it trimmed to %q", got.Name, "Plain")
			}
			if got.Alias != nil {
				t.Errorf("Alias = %q, want nil for a blank alias", *got.Alias)
			}
			if got.Visibility != models.VisibilityPrivate {
				t.Errorf("Visibility = %q, want %q", got.Visibility, models.VisibilityPrivate)
			}
			if got.Meta == nil || len(got.Meta) != 0 {
				t.Errorf("Meta = %#v, want an empty, non-nil meta", got.Meta)
			}
		})
		t.Run("BlankAliasesDoNotConflict", func(t *testing.T) {
			mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "A", Alias: ptr("")}})
			mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "B", Alias: ptr("")}})
			mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "C"}})
		})
		t.Run("NameOf200Characters", func(t *testing.T) {
			// Lengths count characters, not bytes: "é" is two bytes.
			name := strings.Repeat("é", 200)
			got := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: name}})
			found, err := s.FindBot(t.Context(), got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.Name != name {
				t.Errorf("Name = %q, want %q", found.Name, name)
			}
		})

		for _, tc := range []struct {
			name   string
			bot    models.Bot
			fields []string
		}{
			{"ErrNameTooLong", models.Bot{Name: strings.Repeat("a", 201)}, []string{"name"}},
			{"ErrAliasTooLong", models.Bot{Name: "x", Alias: ptr(strings.Repeat("a", 101))}, []string{"alias"}},
			{"ErrDescriptionTooLong", models.Bot{Name: "x", Description: strings.Repeat("a", 4001)}, []string{"description"}},
			{"ErrBackstoryTooLong", models.Bot{Name: "x", Backstory: strings.Repeat("a", 100001)}, []string{"backstory"}},
			{"ErrModelTooLong", models.Bot{Name: "x", Model: strings.Repeat("a", 201)}, []string{"model"}},
			{"ErrVisibility", models.Bot{Name: "x", Visibility: "secret"}, []string{"visibility"}},
			{"ErrSeveralFields", models.Bot{Name: strings.Repeat("a", 201), Visibility: "secret"}, []string{"name", "visibility"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "bots", "")
				_, err := s.CreateBot(t.Context(), store.BotInput{Bot: tc.bot})
				wantFieldErrors(t, err, tc.fields...)
				if got := count(t, s, "bots", ""); got != before {
					t.Errorf("bots = %d after a failed create, want %d", got, before)
				}
			})
		}
		t.Run("ErrNameTooLongMessage", func(t *testing.T) {
			_, err := s.CreateBot(t.Context(), store.BotInput{Bot: models.Bot{Name: strings.Repeat("a", 201)}})
			if got, want := models.ErrorFields(err)["name"], "Name must be at most 200 characters."; got != want {
				t.Errorf("Fields[name] = %q, want %q", got, want)
			}
		})
		t.Run("ErrDuplicateAlias", func(t *testing.T) {
			mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "First", Alias: ptr("dup")}})
			_, err := s.CreateBot(t.Context(), store.BotInput{Bot: models.Bot{Name: "Second", Alias: ptr("dup")}})
			wantCode(t, err, models.CodeConflict)
			if got := count(t, s, "bots", "name = ?", "Second"); got != 0 {
				t.Errorf("%d bots named Second, want 0", got)
			}
		})
	})
}

func TestCreateBotAttachments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// Names sort opposite to creation order: FindBot orders attachments by name.
		d2 := mustDataset(t, s, "Z docs")
		d1 := mustDataset(t, s, "A docs")
		k1 := mustSkillset(t, s, "Tools")

		t.Run("OK", func(t *testing.T) {
			got := mustBot(t, s, store.BotInput{
				Bot:         models.Bot{Name: "Attached"},
				DatasetIDs:  []string{d2.ID, d1.ID},
				SkillsetIDs: []string{k1.ID},
			})
			if diff := cmp.Diff([]string{d1.ID, d2.ID}, datasetIDs(got)); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{k1.ID}, skillsetIDs(got)); diff != "" {
				t.Errorf("skillsets (-want +got):\n%s", diff)
			}
			if got.Datasets[0].Name != "A docs" {
				t.Errorf("Datasets[0].Name = %q, want the dataset loaded in full", got.Datasets[0].Name)
			}
			if n := count(t, s, "bot_datasets", "bot_id = ?", got.ID); n != 2 {
				t.Errorf("bot_datasets rows = %d, want 2", n)
			}
		})
		t.Run("DuplicateIDsOnce", func(t *testing.T) {
			got := mustBot(t, s, store.BotInput{
				Bot:        models.Bot{Name: "Dup ids"},
				DatasetIDs: []string{d1.ID, d1.ID, " ", ""},
			})
			if diff := cmp.Diff([]string{d1.ID}, datasetIDs(got)); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
		})

		for _, tc := range []struct {
			name  string
			in    store.BotInput
			field string
		}{
			{"ErrUnknownDataset", store.BotInput{DatasetIDs: []string{d1.ID, models.NewID()}}, "datasetIds"},
			{"ErrMalformedDatasetID", store.BotInput{DatasetIDs: []string{"not-an-id"}}, "datasetIds"},
			{"ErrUnknownSkillset", store.BotInput{DatasetIDs: []string{d1.ID}, SkillsetIDs: []string{models.NewID()}}, "skillsetIds"},
			{"ErrSkillsetIDAsDataset", store.BotInput{DatasetIDs: []string{k1.ID}}, "datasetIds"},
			{"ErrTooManyDatasets", store.BotInput{DatasetIDs: newIDs(51)}, "datasetIds"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				name := "Bot " + tc.name
				tc.in.Bot = models.Bot{Name: name}
				bots, links := count(t, s, "bots", ""), count(t, s, "bot_datasets", "")
				_, err := s.CreateBot(t.Context(), tc.in)
				wantFieldErrors(t, err, tc.field)
				// Nothing is written: not the bot, not its other attachments.
				if got := count(t, s, "bots", "name = ?", name); got != 0 {
					t.Errorf("bot exists after a failed create")
				}
				if got := count(t, s, "bots", ""); got != bots {
					t.Errorf("bots = %d, want %d", got, bots)
				}
				if got := count(t, s, "bot_datasets", ""); got != links {
					t.Errorf("bot_datasets = %d, want %d", got, links)
				}
			})
		}
	})
}

func newIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = models.NewID()
	}
	return ids
}

func TestFindBot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Found"}})
		t.Run("OK", func(t *testing.T) {
			got, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != b.ID || got.Name != "Found" {
				t.Errorf("FindBot = %s %q, want %s %q", got.ID, got.Name, b.ID, "Found")
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "not-an-id"},
			{"ErrEmptyID", ""},
			{"ErrInjection", "' OR '1'='1"},
			{"ErrUppercaseOfOtherID", strings.ToUpper(models.NewID())},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.FindBot(t.Context(), tc.id)
				wantCode(t, err, models.CodeNotFound)
			})
		}
		got, err := s.FindBot(t.Context(), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantUTC(t, s, map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt})
	})
}

func TestFindBots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		d := mustDataset(t, s, "Docs")
		k := mustSkillset(t, s, "Tools")
		withD := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "With dataset"}, DatasetIDs: []string{d.ID}})
		withK := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "With skillset"}, SkillsetIDs: []string{k.ID}})
		both := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Both"}, DatasetIDs: []string{d.ID}, SkillsetIDs: []string{k.ID}})
		none := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "None"}})

		for _, tc := range []struct {
			name   string
			filter models.BotFilter
			want   []string
		}{
			{"All", models.BotFilter{}, []string{none.ID, both.ID, withK.ID, withD.ID}},
			{"ByDataset", models.BotFilter{DatasetID: d.ID}, []string{both.ID, withD.ID}},
			{"BySkillset", models.BotFilter{SkillsetID: k.ID}, []string{both.ID, withK.ID}},
			{"ByBoth", models.BotFilter{DatasetID: d.ID, SkillsetID: k.ID}, []string{both.ID}},
			{"ByUnknownDataset", models.BotFilter{DatasetID: models.NewID()}, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bots, next, err := s.FindBots(t.Context(), tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, b := range bots {
					got = append(got, b.ID)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("FindBots (-want +got):\n%s", diff)
				}
				if next != "" {
					t.Errorf("next = %q, want none", next)
				}
			})
		}
		t.Run("CountBots", func(t *testing.T) {
			n, err := s.CountBots(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n != 4 {
				t.Errorf("CountBots = %d, want 4", n)
			}
		})
	})
}

func TestUpdateBot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		d1 := mustDataset(t, s, "D1")
		d2 := mustDataset(t, s, "D2")
		k1 := mustSkillset(t, s, "K1")

		t.Run("OK", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Old", Model: "a", Meta: models.Meta{"v": 1.0}}})
			want := models.Bot{
				ID: b.ID, Alias: ptr("renamed"), Name: "New", Description: "d", Backstory: "b", Model: "m",
				Privacy: true, Moderation: true, Visibility: models.VisibilityProtected, Meta: models.Meta{"v": 2.0},
			}
			got, err := s.UpdateBot(t.Context(), store.BotInput{Bot: want})
			if err != nil {
				t.Fatalf("UpdateBot: %v", err)
			}
			if diff := cmp.Diff(want, *got, ignoreBotDB); diff != "" {
				t.Errorf("updated bot (-want +got):\n%s", diff)
			}
			found, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, *found, ignoreBotDB); diff != "" {
				t.Errorf("stored bot (-want +got):\n%s", diff)
			}
			// The bot names its latest version (version 2 now), and an
			// update that changes nothing keeps naming it.
			latest, err := s.LatestBotVersion(t.Context(), b.ID)
			if err != nil || latest == nil || latest.Number != 2 {
				t.Fatalf("LatestBotVersion = %+v, %v; want version 2", latest, err)
			}
			if found.VersionID == nil || *found.VersionID != latest.ID {
				t.Errorf("VersionID = %v, want the latest version %s", found.VersionID, latest.ID)
			}
			if b.VersionID == nil || *b.VersionID == latest.ID {
				t.Errorf("created bot's VersionID = %v, want version 1's, not %s", b.VersionID, latest.ID)
			}
			again, err := s.UpdateBot(t.Context(), store.BotInput{Bot: *found})
			if err != nil {
				t.Fatal(err)
			}
			if again.VersionID == nil || *again.VersionID != latest.ID {
				t.Errorf("after an update changing nothing, VersionID = %v, want still %s", again.VersionID, latest.ID)
			}
			// The input had no CreatedAt: the stored one is kept.
			if !found.CreatedAt.Equal(b.CreatedAt) {
				t.Errorf("CreatedAt = %v, want unchanged %v", found.CreatedAt, b.CreatedAt)
			}
			if found.UpdatedAt.Before(b.UpdatedAt) {
				t.Errorf("UpdatedAt = %v, want at or after %v", found.UpdatedAt, b.UpdatedAt)
			}
		})
		t.Run("NilAttachmentsKept", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Keep"}, DatasetIDs: []string{d1.ID}, SkillsetIDs: []string{k1.ID}})
			got, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: b.ID, Name: "Keep 2"}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{d1.ID}, datasetIDs(got)); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{k1.ID}, skillsetIDs(got)); diff != "" {
				t.Errorf("skillsets (-want +got):\n%s", diff)
			}
		})
		t.Run("EmptyAttachmentsCleared", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Clear"}, DatasetIDs: []string{d1.ID}, SkillsetIDs: []string{k1.ID}})
			got, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: b.ID, Name: "Clear"}, DatasetIDs: []string{}, SkillsetIDs: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Datasets) != 0 || len(got.Skillsets) != 0 {
				t.Errorf("datasets %v, skillsets %v, want none", datasetIDs(got), skillsetIDs(got))
			}
			if n := count(t, s, "bot_datasets", "bot_id = ?", b.ID) + count(t, s, "bot_skillsets", "bot_id = ?", b.ID); n != 0 {
				t.Errorf("%d attachment rows left, want 0", n)
			}
		})
		t.Run("AttachmentsReplaced", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Replace"}, DatasetIDs: []string{d1.ID}})
			got, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: b.ID, Name: "Replace"}, DatasetIDs: []string{d2.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{d2.ID}, datasetIDs(got)); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrUnknownDatasetChangesNothing", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Before"}, DatasetIDs: []string{d1.ID}})
			_, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: b.ID, Name: "After"}, DatasetIDs: []string{d2.ID, models.NewID()}})
			wantFieldErrors(t, err, "datasetIds")
			got, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Before" {
				t.Errorf("Name = %q, want unchanged %q", got.Name, "Before")
			}
			if diff := cmp.Diff([]string{d1.ID}, datasetIDs(got)); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrNameTooLong", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Short"}})
			_, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: b.ID, Name: strings.Repeat("a", 201)}})
			wantFieldErrors(t, err, "name")
			got, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Short" {
				t.Errorf("Name = %q, want unchanged", got.Name)
			}
		})
		t.Run("ErrDuplicateAlias", func(t *testing.T) {
			mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Taken", Alias: ptr("taken")}})
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Other", Alias: ptr("other")}})
			_, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: b.ID, Name: "Other", Alias: ptr("taken")}})
			wantCode(t, err, models.CodeConflict)
			got, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Alias == nil || *got.Alias != "other" {
				t.Errorf("Alias = %v, want unchanged %q", got.Alias, "other")
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
			{"ErrEmptyID", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "bots", "")
				_, err := s.UpdateBot(t.Context(), store.BotInput{Bot: models.Bot{ID: tc.id, Name: "Ghost"}})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "bots", ""); got != before {
					t.Errorf("bots = %d after updating a missing bot, want %d (update must not insert)", got, before)
				}
			})
		}
	})
}

func TestDeleteBot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			d := mustDataset(t, s, "Docs")
			k := mustSkillset(t, s, "Tools")
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Doomed"}, DatasetIDs: []string{d.ID}, SkillsetIDs: []string{k.ID}})
			if err := s.DeleteBot(t.Context(), b.ID); err != nil {
				t.Fatalf("DeleteBot: %v", err)
			}
			_, err := s.FindBot(t.Context(), b.ID)
			wantCode(t, err, models.CodeNotFound)
			if n := count(t, s, "bot_datasets", "bot_id = ?", b.ID) + count(t, s, "bot_skillsets", "bot_id = ?", b.ID); n != 0 {
				t.Errorf("%d attachment rows left for the deleted bot, want 0", n)
			}
			// The datasets and skillsets it used survive.
			if _, err := s.FindDataset(t.Context(), d.ID); err != nil {
				t.Errorf("FindDataset after deleting its bot: %v", err)
			}
			if _, err := s.FindSkillset(t.Context(), k.ID); err != nil {
				t.Errorf("FindSkillset after deleting its bot: %v", err)
			}
			t.Run("ErrTwice", func(t *testing.T) {
				wantCode(t, s.DeleteBot(t.Context(), b.ID), models.CodeNotFound)
			})
		})
		t.Run("KeepsConversations", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Talker"}})
			other := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Other"}})
			c := mustConversation(t, s, models.Conversation{BotID: &b.ID, Name: "Chat"},
				models.Message{Type: models.MessageUser, Text: "Hello"},
				models.Message{Type: models.MessageBot, Text: "Hi!"})
			oc := mustConversation(t, s, models.Conversation{BotID: &other.ID, Name: "Other chat"})
			if err := s.DeleteBot(t.Context(), b.ID); err != nil {
				t.Fatalf("DeleteBot: %v", err)
			}
			got, err := s.FindConversation(t.Context(), c.ID)
			if err != nil {
				t.Fatalf("FindConversation after deleting its bot: %v", err)
			}
			if got.BotID != nil || got.Bot != nil {
				t.Errorf("BotID = %v, Bot = %v, want both nil", got.BotID, got.Bot)
			}
			if got.Name != "Chat" {
				t.Errorf("Name = %q, want %q", got.Name, "Chat")
			}
			msgs, _, err := s.FindMessages(t.Context(), c.ID, models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, m := range msgs {
				texts = append(texts, m.Text)
			}
			if diff := cmp.Diff([]string{"Hello", "Hi!"}, texts); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			// Another bot's conversation keeps its bot.
			og, err := s.FindConversation(t.Context(), oc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if og.BotID == nil || *og.BotID != other.ID {
				t.Errorf("other conversation BotID = %v, want %s", og.BotID, other.ID)
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.DeleteBot(t.Context(), tc.id), models.CodeNotFound)
			})
		}
	})
}

func TestAttachDetach(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		d := mustDataset(t, s, "Docs")
		k := mustSkillset(t, s, "Tools")
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Bot"}})
		find := func(t *testing.T) *models.Bot {
			t.Helper()
			got, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}

		t.Run("AttachDataset", func(t *testing.T) {
			for range 2 { // attaching twice is harmless
				if err := s.AttachDataset(t.Context(), b.ID, d.ID); err != nil {
					t.Fatalf("AttachDataset: %v", err)
				}
			}
			if diff := cmp.Diff([]string{d.ID}, datasetIDs(find(t))); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
		})
		t.Run("AttachSkillset", func(t *testing.T) {
			if err := s.AttachSkillset(t.Context(), b.ID, k.ID); err != nil {
				t.Fatalf("AttachSkillset: %v", err)
			}
			if diff := cmp.Diff([]string{k.ID}, skillsetIDs(find(t))); diff != "" {
				t.Errorf("skillsets (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrUnknownDataset", func(t *testing.T) {
			wantFieldErrors(t, s.AttachDataset(t.Context(), b.ID, models.NewID()), "datasetId")
			wantFieldErrors(t, s.AttachDataset(t.Context(), b.ID, "nope"), "datasetId")
		})
		t.Run("ErrUnknownSkillset", func(t *testing.T) {
			wantFieldErrors(t, s.AttachSkillset(t.Context(), b.ID, models.NewID()), "skillsetId")
		})
		t.Run("ErrUnknownBot", func(t *testing.T) {
			wantCode(t, s.AttachDataset(t.Context(), models.NewID(), d.ID), models.CodeNotFound)
			wantCode(t, s.AttachSkillset(t.Context(), "nope", k.ID), models.CodeNotFound)
			if n := count(t, s, "bot_datasets", "bot_id <> ?", b.ID); n != 0 {
				t.Errorf("%d attachments to a bot that does not exist", n)
			}
		})
		t.Run("Detach", func(t *testing.T) {
			if err := s.DetachDataset(t.Context(), b.ID, d.ID); err != nil {
				t.Fatalf("DetachDataset: %v", err)
			}
			if err := s.DetachSkillset(t.Context(), b.ID, k.ID); err != nil {
				t.Fatalf("DetachSkillset: %v", err)
			}
			got := find(t)
			if len(got.Datasets) != 0 || len(got.Skillsets) != 0 {
				t.Errorf("datasets %v, skillsets %v after detaching; want none", datasetIDs(got), skillsetIDs(got))
			}
			// The dataset and skillset themselves stay.
			if _, err := s.FindDataset(t.Context(), d.ID); err != nil {
				t.Errorf("FindDataset after detaching: %v", err)
			}
			if _, err := s.FindSkillset(t.Context(), k.ID); err != nil {
				t.Errorf("FindSkillset after detaching: %v", err)
			}
		})
		t.Run("ErrDetachNotAttached", func(t *testing.T) {
			wantCode(t, s.DetachDataset(t.Context(), b.ID, d.ID), models.CodeNotFound)
			wantCode(t, s.DetachSkillset(t.Context(), b.ID, k.ID), models.CodeNotFound)
		})
		t.Run("ErrTooMany", func(t *testing.T) {
			full := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Full"}})
			for i := range 50 {
				extra := mustDataset(t, s, "Extra "+strings.Repeat("x", i))
				if err := s.AttachDataset(t.Context(), full.ID, extra.ID); err != nil {
					t.Fatalf("AttachDataset #%d: %v", i+1, err)
				}
			}
			wantFieldErrors(t, s.AttachDataset(t.Context(), full.ID, d.ID), "datasetId")
			if n := count(t, s, "bot_datasets", "bot_id = ?", full.ID); n != 50 {
				t.Errorf("attachments = %d, want 50", n)
			}
		})
	})
}

func TestCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "One"}})
		mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Two"}})
		mustDataset(t, s, "Docs")
		mustConversation(t, s, models.Conversation{BotID: &b.ID, Name: "a"})
		mustConversation(t, s, models.Conversation{Name: "b"})
		mustConversation(t, s, models.Conversation{Name: "c"})
		got, err := s.Counts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"bots": 2, "datasets": 1, "skillsets": 0, "conversations": 3}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Counts (-want +got):\n%s", diff)
		}
	})
}
