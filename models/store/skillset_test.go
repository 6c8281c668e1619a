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

var (
	ignoreSkillsetDB = cmpopts.IgnoreFields(models.Skillset{}, "ID", "CreatedAt", "UpdatedAt")
	ignoreAbilityDB  = cmpopts.IgnoreFields(models.Ability{}, "ID", "CreatedAt", "UpdatedAt")
)

func TestCreateSkillset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			want := models.Skillset{Alias: ptr("tools"), Name: "Tools", Description: "Things the bot can do.",
				Visibility: models.VisibilityPublic, Meta: models.Meta{"owner": "ops"}}
			got, err := s.CreateSkillset(t.Context(), want)
			if err != nil {
				t.Fatalf("CreateSkillset: %v", err)
			}
			if diff := cmp.Diff(want, *got, ignoreSkillsetDB); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindSkillset(t.Context(), got.ID)
			if err != nil {
				t.Fatalf("FindSkillset: %v", err)
			}
			if diff := cmp.Diff(got, found); diff != "" {
				t.Errorf("FindSkillset (-created +found):\n%s", diff)
			}
			wantUTC(t, s, map[string]time.Time{"CreatedAt": found.CreatedAt, "UpdatedAt": found.UpdatedAt})
		})
		t.Run("Defaults", func(t *testing.T) {
			got := mustSkillset(t, s, " Trim me ")
			if got.Name != "Trim me" || got.Alias != nil || got.Visibility != models.VisibilityPrivate || got.Meta == nil {
				t.Errorf("got Name %q, Alias %v, Visibility %q, Meta %#v; want trimmed name, nil alias, private, empty meta",
					got.Name, got.Alias, got.Visibility, got.Meta)
			}
		})
		for _, tc := range []struct {
			name   string
			k      models.Skillset
			fields []string
		}{
			{"ErrNameTooLong", models.Skillset{Name: strings.Repeat("n", 201)}, []string{"name"}},
			{"ErrDescriptionTooLong", models.Skillset{Name: "x", Description: strings.Repeat("d", 4001)}, []string{"description"}},
			{"ErrVisibility", models.Skillset{Name: "x", Visibility: "hidden"}, []string{"visibility"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "skillsets", "")
				_, err := s.CreateSkillset(t.Context(), tc.k)
				wantFieldErrors(t, err, tc.fields...)
				if got := count(t, s, "skillsets", ""); got != before {
					t.Errorf("skillsets = %d, want %d", got, before)
				}
			})
		}
		t.Run("ErrDuplicateAlias", func(t *testing.T) {
			if _, err := s.CreateSkillset(t.Context(), models.Skillset{Name: "One", Alias: ptr("same")}); err != nil {
				t.Fatal(err)
			}
			_, err := s.CreateSkillset(t.Context(), models.Skillset{Name: "Two", Alias: ptr("same")})
			wantCode(t, err, models.CodeConflict)
		})
	})
}

func TestFindSkillset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "tools"},
			{"ErrEmptyID", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.FindSkillset(t.Context(), tc.id)
				wantCode(t, err, models.CodeNotFound)
			})
		}
	})
}

func TestUpdateSkillset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			k := mustSkillset(t, s, "Old")
			want := models.Skillset{ID: k.ID, Alias: ptr("new"), Name: "New", Description: "d",
				Visibility: models.VisibilityProtected, Meta: models.Meta{"x": true}}
			if _, err := s.UpdateSkillset(t.Context(), want); err != nil {
				t.Fatalf("UpdateSkillset: %v", err)
			}
			got, err := s.FindSkillset(t.Context(), k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, *got, ignoreSkillsetDB); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if !got.CreatedAt.Equal(k.CreatedAt) {
				t.Errorf("CreatedAt = %v, want unchanged %v", got.CreatedAt, k.CreatedAt)
			}
		})
		t.Run("ErrNameTooLong", func(t *testing.T) {
			k := mustSkillset(t, s, "Short")
			_, err := s.UpdateSkillset(t.Context(), models.Skillset{ID: k.ID, Name: strings.Repeat("n", 201)})
			wantFieldErrors(t, err, "name")
			got, err := s.FindSkillset(t.Context(), k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Short" {
				t.Errorf("Name = %q, want unchanged", got.Name)
			}
		})
		t.Run("ErrDuplicateAlias", func(t *testing.T) {
			if _, err := s.CreateSkillset(t.Context(), models.Skillset{Name: "Has", Alias: ptr("taken")}); err != nil {
				t.Fatal(err)
			}
			k := mustSkillset(t, s, "Wants")
			_, err := s.UpdateSkillset(t.Context(), models.Skillset{ID: k.ID, Name: "Wants", Alias: ptr("taken")})
			wantCode(t, err, models.CodeConflict)
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "skillsets", "")
				_, err := s.UpdateSkillset(t.Context(), models.Skillset{ID: tc.id, Name: "Ghost"})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "skillsets", ""); got != before {
					t.Errorf("skillsets = %d, want %d (update must not insert)", got, before)
				}
			})
		}
	})
}

func TestDeleteSkillset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("DetachesFromBotsAndConversations", func(t *testing.T) {
			doomed := mustSkillset(t, s, "Doomed")
			kept := mustSkillset(t, s, "Kept")
			mustAbility(t, s, doomed.ID, "Search")
			keptAbility := mustAbility(t, s, kept.ID, "Book")
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "User"}, SkillsetIDs: []string{doomed.ID, kept.ID}})
			c := mustConversation(t, s, models.Conversation{BotID: &b.ID, SkillsetID: &doomed.ID, Name: "Inline"})

			if err := s.DeleteSkillset(t.Context(), doomed.ID); err != nil {
				t.Fatalf("DeleteSkillset: %v", err)
			}

			_, err := s.FindSkillset(t.Context(), doomed.ID)
			wantCode(t, err, models.CodeNotFound)
			gotBot, err := s.FindBot(t.Context(), b.ID)
			if err != nil {
				t.Fatalf("the bot did not survive: %v", err)
			}
			if diff := cmp.Diff([]string{kept.ID}, skillsetIDs(gotBot)); diff != "" {
				t.Errorf("bot skillsets (-want +got):\n%s", diff)
			}
			if n := count(t, s, "bot_skillsets", "skillset_id = ?", doomed.ID); n != 0 {
				t.Errorf("bot_skillsets rows for the deleted skillset = %d, want 0", n)
			}
			if n := count(t, s, "abilities", "skillset_id = ?", doomed.ID); n != 0 {
				t.Errorf("abilities of the deleted skillset = %d, want 0", n)
			}
			if _, err := s.FindAbility(t.Context(), kept.ID, keptAbility.ID); err != nil {
				t.Errorf("ability of another skillset: %v", err)
			}
			gotConv, err := s.FindConversation(t.Context(), c.ID)
			if err != nil {
				t.Fatalf("the conversation did not survive: %v", err)
			}
			if gotConv.SkillsetID != nil {
				t.Errorf("conversation SkillsetID = %q, want nil", *gotConv.SkillsetID)
			}
			refs, err := s.BotsUsingSkillset(t.Context(), doomed.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 0 {
				t.Errorf("BotsUsingSkillset after delete = %v, want none", refs)
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.DeleteSkillset(t.Context(), tc.id), models.CodeNotFound)
			})
		}
	})
}

func TestBotsUsingSkillset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		k := mustSkillset(t, s, "Shared")
		zed := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Zed"}, SkillsetIDs: []string{k.ID}})
		amy := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Amy"}, SkillsetIDs: []string{k.ID}})
		mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Bystander"}})
		got, err := s.BotsUsingSkillset(t.Context(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []models.BotRef{{ID: amy.ID, Name: "Amy"}, {ID: zed.ID, Name: "Zed"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("BotsUsingSkillset (-want +got):\n%s", diff)
		}
	})
}

func TestAbilities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a := mustSkillset(t, s, "A")
		b := mustSkillset(t, s, "B")

		t.Run("CreateOK", func(t *testing.T) {
			want := models.Ability{SkillsetID: a.ID, Name: "Look up order", Description: "When the user asks about an order.",
				Instruction: "Ask for the order number.", BotID: ptr(models.NewID()), Meta: models.Meta{"action": "fetch"}}
			got, err := s.CreateAbility(t.Context(), want)
			if err != nil {
				t.Fatalf("CreateAbility: %v", err)
			}
			if diff := cmp.Diff(want, *got, ignoreAbilityDB); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindAbility(t.Context(), a.ID, got.ID)
			if err != nil {
				t.Fatalf("FindAbility: %v", err)
			}
			if diff := cmp.Diff(got, found); diff != "" {
				t.Errorf("FindAbility (-created +found):\n%s", diff)
			}
		})
		t.Run("TrimsName", func(t *testing.T) {
			got := mustAbility(t, s, a.ID, "  Spaced  ")
			if got.Name != "Spaced" {
				t.Errorf("Name = %q, want %q", got.Name, "Spaced")
			}
		})
		for _, tc := range []struct {
			name   string
			ab     models.Ability
			fields []string
		}{
			{"ErrNameRequired", models.Ability{Name: "   "}, []string{"name"}},
			{"ErrNameTooLong", models.Ability{Name: strings.Repeat("n", 201)}, []string{"name"}},
			{"ErrInstructionTooLong", models.Ability{Name: "x", Instruction: strings.Repeat("i", 20001)}, []string{"instruction"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.ab.SkillsetID = a.ID
				before := count(t, s, "abilities", "")
				_, err := s.CreateAbility(t.Context(), tc.ab)
				wantFieldErrors(t, err, tc.fields...)
				if got := count(t, s, "abilities", ""); got != before {
					t.Errorf("abilities = %d, want %d", got, before)
				}
			})
		}
		for _, tc := range []struct{ name, skillsetID string }{
			{"ErrUnknownSkillset", models.NewID()},
			{"ErrMalformedSkillset", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateAbility(t.Context(), models.Ability{SkillsetID: tc.skillsetID, Name: "Orphan"})
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "abilities", "name = ?", "Orphan"); got != 0 {
					t.Errorf("orphan ability written")
				}
			})
		}

		t.Run("ScopedToSkillset", func(t *testing.T) {
			ab := mustAbility(t, s, a.ID, "Belongs to A")
			t.Run("ErrFindThroughOtherSkillset", func(t *testing.T) {
				_, err := s.FindAbility(t.Context(), b.ID, ab.ID)
				wantCode(t, err, models.CodeNotFound)
			})
			t.Run("ErrUpdateThroughOtherSkillset", func(t *testing.T) {
				_, err := s.UpdateAbility(t.Context(), models.Ability{ID: ab.ID, SkillsetID: b.ID, Name: "Hijacked"})
				wantCode(t, err, models.CodeNotFound)
				got, err := s.FindAbility(t.Context(), a.ID, ab.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Name != "Belongs to A" || got.SkillsetID != a.ID {
					t.Errorf("ability = %q in %s, want unchanged", got.Name, got.SkillsetID)
				}
			})
			t.Run("ErrDeleteThroughOtherSkillset", func(t *testing.T) {
				wantCode(t, s.DeleteAbility(t.Context(), b.ID, ab.ID), models.CodeNotFound)
				if _, err := s.FindAbility(t.Context(), a.ID, ab.ID); err != nil {
					t.Errorf("ability gone after a refused delete: %v", err)
				}
			})
			t.Run("NotListedInOtherSkillset", func(t *testing.T) {
				items, _, err := s.FindAbilities(t.Context(), b.ID, models.Page{})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range items {
					if x.ID == ab.ID {
						t.Errorf("FindAbilities(B) lists an ability of A")
					}
				}
			})
		})

		t.Run("UpdateOK", func(t *testing.T) {
			ab := mustAbility(t, s, a.ID, "Old")
			want := models.Ability{ID: ab.ID, SkillsetID: a.ID, Name: "New", Description: "d", Instruction: "i", Meta: models.Meta{"v": 2.0}}
			if _, err := s.UpdateAbility(t.Context(), want); err != nil {
				t.Fatalf("UpdateAbility: %v", err)
			}
			got, err := s.FindAbility(t.Context(), a.ID, ab.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, *got, cmpopts.IgnoreFields(models.Ability{}, "CreatedAt", "UpdatedAt")); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if !got.CreatedAt.Equal(ab.CreatedAt) {
				t.Errorf("CreatedAt = %v, want unchanged %v", got.CreatedAt, ab.CreatedAt)
			}
		})
		t.Run("ErrUpdateNameRequired", func(t *testing.T) {
			ab := mustAbility(t, s, a.ID, "Named")
			_, err := s.UpdateAbility(t.Context(), models.Ability{ID: ab.ID, SkillsetID: a.ID, Name: ""})
			wantFieldErrors(t, err, "name")
		})
		t.Run("ErrUpdateNotFound", func(t *testing.T) {
			before := count(t, s, "abilities", "")
			_, err := s.UpdateAbility(t.Context(), models.Ability{ID: models.NewID(), SkillsetID: a.ID, Name: "Ghost"})
			wantCode(t, err, models.CodeNotFound)
			if got := count(t, s, "abilities", ""); got != before {
				t.Errorf("abilities = %d, want %d (update must not insert)", got, before)
			}
		})
		t.Run("DeleteOK", func(t *testing.T) {
			ab := mustAbility(t, s, a.ID, "Delete me")
			if err := s.DeleteAbility(t.Context(), a.ID, ab.ID); err != nil {
				t.Fatalf("DeleteAbility: %v", err)
			}
			_, err := s.FindAbility(t.Context(), a.ID, ab.ID)
			wantCode(t, err, models.CodeNotFound)
			wantCode(t, s.DeleteAbility(t.Context(), a.ID, ab.ID), models.CodeNotFound)
		})
		t.Run("CountAbilities", func(t *testing.T) {
			c := mustSkillset(t, s, "Counted")
			mustAbility(t, s, c.ID, "1")
			mustAbility(t, s, c.ID, "2")
			mustAbility(t, s, b.ID, "elsewhere")
			n, err := s.CountAbilities(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("CountAbilities = %d, want 2", n)
			}
		})
		t.Run("ErrMalformedIDs", func(t *testing.T) {
			_, err := s.FindAbility(t.Context(), a.ID, "nope")
			wantCode(t, err, models.CodeNotFound)
			_, err = s.FindAbility(t.Context(), "nope", models.NewID())
			wantCode(t, err, models.CodeNotFound)
			wantCode(t, s.DeleteAbility(t.Context(), "nope", "nope"), models.CodeNotFound)
		})
	})
}
