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

var ignoreDatasetDB = cmpopts.IgnoreFields(models.Dataset{}, "ID", "CreatedAt", "UpdatedAt")

func TestCreateDataset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			want := models.NewDataset()
			want.Alias = ptr("faq")
			want.Name = "FAQ"
			want.Description = "Frequently asked questions."
			want.Meta = models.Meta{"source": "wiki"}
			want.Store = "local"
			want.Reranker = "none"
			want.SearchMinScore = 0.25
			want.MatchInstruction = "Use the records."
			want.MismatchInstruction = "Say you do not know."
			want.Separators = "\\n\\n"
			want.Visibility = models.VisibilityProtected
			got, err := s.CreateDataset(t.Context(), want)
			if err != nil {
				t.Fatalf("CreateDataset: %v", err)
			}
			if !models.ValidID(got.ID) {
				t.Errorf("ID = %q, not a valid id", got.ID)
			}
			if diff := cmp.Diff(want, *got, ignoreDatasetDB); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindDataset(t.Context(), got.ID)
			if err != nil {
				t.Fatalf("FindDataset: %v", err)
			}
			if diff := cmp.Diff(got, found); diff != "" {
				t.Errorf("FindDataset after create (-created +found):\n%s", diff)
			}
		})
		t.Run("Defaults", func(t *testing.T) {
			got, err := s.CreateDataset(t.Context(), models.Dataset{Name: "  Bare  ", Alias: ptr(" ")})
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Bare" || got.Alias != nil || got.Visibility != models.VisibilityPrivate || got.Meta == nil {
				t.Errorf("got Name %q, Alias %v, Visibility %q, Meta %#v; want trimmed name, nil alias, private, empty meta",
					got.Name, got.Alias, got.Visibility, got.Meta)
			}
		})
		for _, tc := range []struct {
			name   string
			edit   func(d *models.Dataset)
			fields []string
		}{
			{"ErrNameTooLong", func(d *models.Dataset) { d.Name = strings.Repeat("n", 201) }, []string{"name"}},
			{"ErrAliasTooLong", func(d *models.Dataset) { d.Alias = ptr(strings.Repeat("a", 101)) }, []string{"alias"}},
			{"ErrSearchMinScoreAbove1", func(d *models.Dataset) { d.SearchMinScore = 1.5 }, []string{"searchMinScore"}},
			{"ErrSearchMinScoreNegative", func(d *models.Dataset) { d.SearchMinScore = -0.1 }, []string{"searchMinScore"}},
			{"ErrRecordMaxTokensNegative", func(d *models.Dataset) { d.RecordMaxTokens = -1 }, []string{"recordMaxTokens"}},
			{"ErrSearchMaxRecordsTooMany", func(d *models.Dataset) { d.SearchMaxRecords = 101 }, []string{"searchMaxRecords"}},
			{"ErrVisibility", func(d *models.Dataset) { d.Visibility = "everyone" }, []string{"visibility"}},
			{"ErrSeveralFields", func(d *models.Dataset) { d.Name = strings.Repeat("n", 201); d.SearchMaxTokens = -5 }, []string{"name", "searchMaxTokens"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := models.NewDataset()
				d.Name = "Invalid"
				tc.edit(&d)
				before := count(t, s, "datasets", "")
				_, err := s.CreateDataset(t.Context(), d)
				wantFieldErrors(t, err, tc.fields...)
				if got := count(t, s, "datasets", ""); got != before {
					t.Errorf("datasets = %d after a failed create, want %d", got, before)
				}
			})
		}
		t.Run("ErrDuplicateAlias", func(t *testing.T) {
			if _, err := s.CreateDataset(t.Context(), models.Dataset{Name: "One", Alias: ptr("same")}); err != nil {
				t.Fatal(err)
			}
			_, err := s.CreateDataset(t.Context(), models.Dataset{Name: "Two", Alias: ptr("same")})
			wantCode(t, err, models.CodeConflict)
		})
	})
}

func TestFindDataset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		d := mustDataset(t, s, "Docs")
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "docs"},
			{"ErrEmptyID", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.FindDataset(t.Context(), tc.id)
				wantCode(t, err, models.CodeNotFound)
			})
		}
		got, err := s.FindDataset(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantUTC(t, s, map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt})
	})
}

func TestUpdateDataset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			d := mustDataset(t, s, "Old")
			want := *d
			want.Name = "New"
			want.SearchMinScore = 0.5
			want.Meta = models.Meta{"k": "v"}
			want.CreatedAt = time.Time{} // not sent by a form: the stored one is kept
			if _, err := s.UpdateDataset(t.Context(), want); err != nil {
				t.Fatalf("UpdateDataset: %v", err)
			}
			got, err := s.FindDataset(t.Context(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, *got, ignoreDatasetDB); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if !got.CreatedAt.Equal(d.CreatedAt) {
				t.Errorf("CreatedAt = %v, want unchanged %v", got.CreatedAt, d.CreatedAt)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			d := mustDataset(t, s, "Valid")
			bad := *d
			bad.SearchMinScore = 2
			_, err := s.UpdateDataset(t.Context(), bad)
			wantFieldErrors(t, err, "searchMinScore")
			got, err := s.FindDataset(t.Context(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.SearchMinScore != 0 {
				t.Errorf("SearchMinScore = %v, want unchanged 0", got.SearchMinScore)
			}
		})
		t.Run("ErrDuplicateAlias", func(t *testing.T) {
			if _, err := s.CreateDataset(t.Context(), models.Dataset{Name: "Has alias", Alias: ptr("kb")}); err != nil {
				t.Fatal(err)
			}
			d := mustDataset(t, s, "No alias")
			d.Alias = ptr("kb")
			_, err := s.UpdateDataset(t.Context(), *d)
			wantCode(t, err, models.CodeConflict)
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "datasets", "")
				_, err := s.UpdateDataset(t.Context(), models.Dataset{ID: tc.id, Name: "Ghost"})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "datasets", ""); got != before {
					t.Errorf("datasets = %d, want %d (update must not insert)", got, before)
				}
			})
		}
	})
}

func TestDeleteDataset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("DetachesFromBotsAndConversations", func(t *testing.T) {
			doomed := mustDataset(t, s, "Doomed")
			kept := mustDataset(t, s, "Kept")
			mustRecord(t, s, doomed.ID, "one")
			mustRecord(t, s, doomed.ID, "two")
			keptRecord := mustRecord(t, s, kept.ID, "three")
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "User"}, DatasetIDs: []string{doomed.ID, kept.ID}})
			c := mustConversation(t, s, models.Conversation{BotID: &b.ID, DatasetID: &doomed.ID, Name: "Inline"})

			if err := s.DeleteDataset(t.Context(), doomed.ID); err != nil {
				t.Fatalf("DeleteDataset: %v", err)
			}

			_, err := s.FindDataset(t.Context(), doomed.ID)
			wantCode(t, err, models.CodeNotFound)
			gotBot, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatalf("the bot did not survive: %v", err)
			}
			if diff := cmp.Diff([]string{kept.ID}, datasetIDs(gotBot)); diff != "" {
				t.Errorf("bot datasets (-want +got):\n%s", diff)
			}
			if n := count(t, s, "bot_datasets", "dataset_id = ?", doomed.ID); n != 0 {
				t.Errorf("bot_datasets rows for the deleted dataset = %d, want 0", n)
			}
			if n := count(t, s, "dataset_records", "dataset_id = ?", doomed.ID); n != 0 {
				t.Errorf("records of the deleted dataset = %d, want 0", n)
			}
			if _, err := s.FindRecord(t.Context(), kept.ID, keptRecord.ID); err != nil {
				t.Errorf("record of another dataset: %v", err)
			}
			gotConv, err := s.FindConversation(t.Context(), c.ID)
			if err != nil {
				t.Fatalf("the conversation did not survive: %v", err)
			}
			if gotConv.DatasetID != nil {
				t.Errorf("conversation DatasetID = %q, want nil", *gotConv.DatasetID)
			}
			if gotConv.BotID == nil || *gotConv.BotID != b.ID {
				t.Errorf("conversation BotID = %v, want unchanged %s", gotConv.BotID, b.ID)
			}
			refs, err := s.BotsUsingDataset(t.Context(), doomed.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 0 {
				t.Errorf("BotsUsingDataset after delete = %v, want none", refs)
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.DeleteDataset(t.Context(), tc.id), models.CodeNotFound)
			})
		}
	})
}

func TestBotsUsingDataset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		d := mustDataset(t, s, "Shared")
		unused := mustDataset(t, s, "Unused")
		zed := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Zed"}, DatasetIDs: []string{d.ID}})
		amy := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Amy"}, DatasetIDs: []string{d.ID}})
		mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Bystander"}})

		t.Run("OK", func(t *testing.T) {
			got, err := s.BotsUsingDataset(t.Context(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []models.BotRef{{ID: amy.ID, Name: "Amy"}, {ID: zed.ID, Name: "Zed"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("BotsUsingDataset (-want +got):\n%s", diff)
			}
		})
		t.Run("Unused", func(t *testing.T) {
			got, err := s.BotsUsingDataset(t.Context(), unused.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("BotsUsingDataset = %v, want none", got)
			}
		})
	})
}

func TestRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a := mustDataset(t, s, "A")
		b := mustDataset(t, s, "B")

		t.Run("CreateOK", func(t *testing.T) {
			want := models.DatasetRecord{DatasetID: a.ID, Text: "Opening hours are 9 to 5.", Source: "https://example.com/hours", Meta: models.Meta{"lang": "en"}}
			got, err := s.CreateRecord(t.Context(), want)
			if err != nil {
				t.Fatalf("CreateRecord: %v", err)
			}
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(models.DatasetRecord{}, "ID", "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindRecord(t.Context(), a.ID, got.ID)
			if err != nil {
				t.Fatalf("FindRecord: %v", err)
			}
			if diff := cmp.Diff(got, found); diff != "" {
				t.Errorf("FindRecord (-created +found):\n%s", diff)
			}
			wantUTC(t, s, map[string]time.Time{"CreatedAt": found.CreatedAt, "UpdatedAt": found.UpdatedAt})
		})
		t.Run("ErrTextRequired", func(t *testing.T) {
			_, err := s.CreateRecord(t.Context(), models.DatasetRecord{DatasetID: a.ID})
			wantFieldErrors(t, err, "text")
		})
		t.Run("ErrSourceTooLong", func(t *testing.T) {
			_, err := s.CreateRecord(t.Context(), models.DatasetRecord{DatasetID: a.ID, Text: "x", Source: strings.Repeat("s", 2001)})
			wantFieldErrors(t, err, "source")
		})
		for _, tc := range []struct{ name, datasetID string }{
			{"ErrUnknownDataset", models.NewID()},
			{"ErrMalformedDataset", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "dataset_records", "")
				_, err := s.CreateRecord(t.Context(), models.DatasetRecord{DatasetID: tc.datasetID, Text: "orphan"})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "dataset_records", ""); got != before {
					t.Errorf("records = %d, want %d", got, before)
				}
			})
		}

		t.Run("ScopedToDataset", func(t *testing.T) {
			r := mustRecord(t, s, a.ID, "belongs to A")
			t.Run("ErrFindThroughOtherDataset", func(t *testing.T) {
				_, err := s.FindRecord(t.Context(), b.ID, r.ID)
				wantCode(t, err, models.CodeNotFound)
			})
			t.Run("ErrUpdateThroughOtherDataset", func(t *testing.T) {
				_, err := s.UpdateRecord(t.Context(), models.DatasetRecord{ID: r.ID, DatasetID: b.ID, Text: "hijacked"})
				wantCode(t, err, models.CodeNotFound)
				got, err := s.FindRecord(t.Context(), a.ID, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Text != "belongs to A" || got.DatasetID != a.ID {
					t.Errorf("record = %q in %s, want unchanged", got.Text, got.DatasetID)
				}
			})
			t.Run("ErrDeleteThroughOtherDataset", func(t *testing.T) {
				wantCode(t, s.DeleteRecord(t.Context(), b.ID, r.ID), models.CodeNotFound)
				if _, err := s.FindRecord(t.Context(), a.ID, r.ID); err != nil {
					t.Errorf("record gone after a refused delete: %v", err)
				}
			})
			t.Run("NotListedInOtherDataset", func(t *testing.T) {
				recs, _, err := s.FindRecords(t.Context(), b.ID, models.Page{})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range recs {
					if x.ID == r.ID {
						t.Errorf("FindRecords(B) lists a record of A")
					}
				}
			})
		})

		t.Run("UpdateOK", func(t *testing.T) {
			r := mustRecord(t, s, a.ID, "old text")
			got, err := s.UpdateRecord(t.Context(), models.DatasetRecord{ID: r.ID, DatasetID: a.ID, Text: "new text", Source: "manual", Meta: models.Meta{"v": 2.0}})
			if err != nil {
				t.Fatalf("UpdateRecord: %v", err)
			}
			found, err := s.FindRecord(t.Context(), a.ID, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, found); diff != "" {
				t.Errorf("returned vs stored (-returned +stored):\n%s", diff)
			}
			want := models.DatasetRecord{ID: r.ID, DatasetID: a.ID, Text: "new text", Source: "manual", Meta: models.Meta{"v": 2.0}}
			if diff := cmp.Diff(want, *found, cmpopts.IgnoreFields(models.DatasetRecord{}, "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if !found.CreatedAt.Equal(r.CreatedAt) {
				t.Errorf("CreatedAt = %v, want unchanged %v", found.CreatedAt, r.CreatedAt)
			}
		})
		t.Run("ErrUpdateTextRequired", func(t *testing.T) {
			r := mustRecord(t, s, a.ID, "keep me")
			_, err := s.UpdateRecord(t.Context(), models.DatasetRecord{ID: r.ID, DatasetID: a.ID, Text: ""})
			wantFieldErrors(t, err, "text")
		})
		t.Run("ErrUpdateNotFound", func(t *testing.T) {
			_, err := s.UpdateRecord(t.Context(), models.DatasetRecord{ID: models.NewID(), DatasetID: a.ID, Text: "x"})
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("DeleteOK", func(t *testing.T) {
			r := mustRecord(t, s, a.ID, "delete me")
			if err := s.DeleteRecord(t.Context(), a.ID, r.ID); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			_, err := s.FindRecord(t.Context(), a.ID, r.ID)
			wantCode(t, err, models.CodeNotFound)
			wantCode(t, s.DeleteRecord(t.Context(), a.ID, r.ID), models.CodeNotFound)
		})
		t.Run("ErrFindMalformedID", func(t *testing.T) {
			_, err := s.FindRecord(t.Context(), a.ID, "nope")
			wantCode(t, err, models.CodeNotFound)
			_, err = s.FindRecord(t.Context(), "nope", models.NewID())
			wantCode(t, err, models.CodeNotFound)
			wantCode(t, s.DeleteRecord(t.Context(), "nope", "nope"), models.CodeNotFound)
		})
		t.Run("CountRecords", func(t *testing.T) {
			c := mustDataset(t, s, "Counted")
			mustRecord(t, s, c.ID, "1")
			mustRecord(t, s, c.ID, "2")
			mustRecord(t, s, b.ID, "elsewhere")
			n, err := s.CountRecords(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("CountRecords = %d, want 2", n)
			}
		})
	})
}
