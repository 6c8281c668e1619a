package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// allVersions returns every version of a bot, oldest first.
func allVersions(t *testing.T, s *store.Store, botID string) []models.BotVersion {
	t.Helper()
	var out []models.BotVersion
	before := 0
	for {
		vs, next, err := s.FindBotVersions(t.Context(), botID, before, models.MaxPageSize)
		if err != nil {
			t.Fatalf("FindBotVersions: %v", err)
		}
		out = append(out, vs...)
		if next == 0 {
			break
		}
		before = next
	}
	slices.Reverse(out)
	return out
}

// wantVersions fails unless the bot's versions are numbered exactly 1…n, and
// returns the latest.
func wantVersions(t *testing.T, s *store.Store, botID string, n int) models.BotVersion {
	t.Helper()
	vs := allVersions(t, s, botID)
	var got []int
	for _, v := range vs {
		got = append(got, v.Number)
	}
	var want []int
	for i := 1; i <= n; i++ {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("version numbers = %v, want %v", got, want)
	}
	return vs[len(vs)-1]
}

// summaryOf is what changed from the version before v to v.
func summaryOf(t *testing.T, s *store.Store, v models.BotVersion) string {
	t.Helper()
	prev, err := s.FindBotVersion(t.Context(), v.BotID, v.Number-1)
	if err != nil {
		t.Fatalf("FindBotVersion(%d): %v", v.Number-1, err)
	}
	return strings.Join(models.DiffSnapshots(prev.Snapshot, v.Snapshot).Summary(), "; ")
}

func updateBot(t *testing.T, s *store.Store, ctx context.Context, b *models.Bot, change func(*models.Bot)) {
	t.Helper()
	cur, err := s.FindBot(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	change(cur)
	cur.Datasets, cur.Skillsets = nil, nil
	if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *cur}); err != nil {
		t.Fatalf("UpdateBot: %v", err)
	}
}

func TestBotVersionPerChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		ds := mustDataset(t, s, "FAQ")
		other := mustDataset(t, s, "Manual")
		ks := mustSkillset(t, s, "Tools")
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Helper", Backstory: "one", Model: "local"}})
		// A second bot using the same dataset and skillset gets versions from their edits too.
		twin := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Twin"}, DatasetIDs: []string{ds.ID}, SkillsetIDs: []string{ks.ID}})
		n := 1

		t.Run("CreateMakesVersion1", func(t *testing.T) {
			v := wantVersions(t, s, bot.ID, 1)
			if v.Snapshot.Backstory != "one" || v.Snapshot.Model != "local" || v.CreatedByKind != models.ActorSystem {
				t.Errorf("version 1 = %+v, want the bot's backstory and model, made by the system", v)
			}
			tw := wantVersions(t, s, twin.ID, 1)
			if len(tw.Snapshot.Datasets) != 1 || len(tw.Snapshot.Skillsets) != 1 || tw.Snapshot.Datasets[0].SearchMaxRecords != models.DefaultSearchMaxRecords {
				t.Errorf("twin's version 1 = %+v, want its dataset (with its settings) and skillset", tw.Snapshot)
			}
		})

		changes := []struct {
			name    string
			do      func(t *testing.T)
			summary string
			twin    bool // the twin gets a version too
		}{
			{"Backstory", func(t *testing.T) { updateBot(t, s, ctx, bot, func(b *models.Bot) { b.Backstory = "two" }) }, "backstory edited", false},
			{"Model", func(t *testing.T) { updateBot(t, s, ctx, bot, func(b *models.Bot) { b.Model = "local/other" }) }, "model local → local/other", false},
			{"Privacy", func(t *testing.T) { updateBot(t, s, ctx, bot, func(b *models.Bot) { b.Privacy = true }) }, "privacy on", false},
			{"Moderation", func(t *testing.T) { updateBot(t, s, ctx, bot, func(b *models.Bot) { b.Moderation = true }) }, "moderation on", false},
			{"AttachDataset", func(t *testing.T) {
				if err := s.AttachDataset(ctx, bot.ID, ds.ID); err != nil {
					t.Fatal(err)
				}
			}, `dataset "FAQ" attached`, false},
			{"AttachSkillset", func(t *testing.T) {
				if err := s.AttachSkillset(ctx, bot.ID, ks.ID); err != nil {
					t.Fatal(err)
				}
			}, `skillset "Tools" attached`, false},
			{"DatasetRetrievalSettings", func(t *testing.T) {
				d, _ := s.FindDataset(ctx, ds.ID)
				d.SearchMaxRecords, d.SearchMinScore, d.RecordMaxTokens = 5, 0.25, 500
				if _, err := s.UpdateDataset(ctx, *d); err != nil {
					t.Fatal(err)
				}
			}, `dataset "FAQ": records to retrieve 3 → 5, min score 0 → 0.25, max record tokens 1000 → 500`, true},
			{"DatasetInstructions", func(t *testing.T) {
				d, _ := s.FindDataset(ctx, ds.ID)
				d.MatchInstruction, d.MismatchInstruction = "Cite it.", "Say you do not know."
				if _, err := s.UpdateDataset(ctx, *d); err != nil {
					t.Fatal(err)
				}
			}, `dataset "FAQ": match instruction, mismatch instruction`, true},
			{"AbilityCreate", func(t *testing.T) { mustAbility(t, s, ks.ID, "clock") }, `ability "clock" added to "Tools"`, true},
			{"AbilityUpdate", func(t *testing.T) {
				abs, _, _ := s.FindAbilities(ctx, ks.ID, models.Page{})
				a := abs[0]
				a.Instruction = "Answer in UTC."
				a.Meta = models.Meta{"note": "x"}
				if _, err := s.UpdateAbility(ctx, a); err != nil {
					t.Fatal(err)
				}
			}, `ability "clock" of "Tools": instruction, meta`, true},
			{"AbilityDelete", func(t *testing.T) {
				abs, _, _ := s.FindAbilities(ctx, ks.ID, models.Page{})
				if err := s.DeleteAbility(ctx, ks.ID, abs[0].ID); err != nil {
					t.Fatal(err)
				}
			}, `ability "clock" removed from "Tools"`, true},
			{"DetachDataset", func(t *testing.T) {
				if err := s.DetachDataset(ctx, bot.ID, ds.ID); err != nil {
					t.Fatal(err)
				}
			}, `dataset "FAQ" detached`, false},
			{"DetachSkillset", func(t *testing.T) {
				if err := s.DetachSkillset(ctx, bot.ID, ks.ID); err != nil {
					t.Fatal(err)
				}
			}, `skillset "Tools" detached`, false},
			{"AttachmentsOnSave", func(t *testing.T) {
				cur, _ := s.FindBot(ctx, bot.ID)
				cur.Datasets, cur.Skillsets = nil, nil
				if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *cur, DatasetIDs: []string{other.ID}, SkillsetIDs: []string{}}); err != nil {
					t.Fatal(err)
				}
			}, `dataset "Manual" attached`, false},
			{"DeleteDataset", func(t *testing.T) {
				if err := s.DeleteDataset(ctx, other.ID); err != nil {
					t.Fatal(err)
				}
			}, `dataset "Manual" detached`, false},
		}
		twinN := 1
		for _, c := range changes {
			t.Run(c.name, func(t *testing.T) {
				c.do(t)
				n++
				v := wantVersions(t, s, bot.ID, n)
				if c.twin {
					twinN++
				}
				wantVersions(t, s, twin.ID, twinN)
				if got := summaryOf(t, s, v); got != c.summary {
					t.Errorf("what changed = %q, want %q", got, c.summary)
				}
			})
		}

		noops := []struct {
			name string
			do   func(t *testing.T)
		}{
			{"SaveUnchanged", func(t *testing.T) { updateBot(t, s, ctx, bot, func(*models.Bot) {}) }},
			{"NameDescriptionMeta", func(t *testing.T) {
				updateBot(t, s, ctx, bot, func(b *models.Bot) { b.Name, b.Description, b.Meta = "Renamed", "Other words", models.Meta{"k": "v"} })
			}},
			{"AttachTwice", func(t *testing.T) {
				if err := s.AttachDataset(ctx, twin.ID, ds.ID); err != nil {
					t.Fatal(err)
				}
			}},
			{"DatasetRenamed", func(t *testing.T) {
				d, _ := s.FindDataset(ctx, ds.ID)
				d.Name, d.Description = "Questions", "Renamed"
				if _, err := s.UpdateDataset(ctx, *d); err != nil {
					t.Fatal(err)
				}
			}},
			{"SkillsetRenamed", func(t *testing.T) {
				k, _ := s.FindSkillset(ctx, ks.ID)
				k.Name = "Kit"
				if _, err := s.UpdateSkillset(ctx, *k); err != nil {
					t.Fatal(err)
				}
			}},
			{"RecordsAreNotVersioned", func(t *testing.T) {
				r := mustRecord(t, s, ds.ID, "A record.")
				r.Text = "Changed."
				if _, err := s.UpdateRecord(ctx, *r); err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteRecord(ctx, ds.ID, r.ID); err != nil {
					t.Fatal(err)
				}
			}},
		}
		for _, c := range noops {
			t.Run("NoVersion/"+c.name, func(t *testing.T) {
				c.do(t)
				wantVersions(t, s, bot.ID, n)
				wantVersions(t, s, twin.ID, twinN)
			})
		}

		t.Run("Note", func(t *testing.T) {
			cur, _ := s.FindBot(ctx, bot.ID)
			cur.Datasets, cur.Skillsets = nil, nil
			cur.Backstory = "three"
			if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *cur, Note: "  Shorter answers  "}); err != nil {
				t.Fatal(err)
			}
			n++
			if v := wantVersions(t, s, bot.ID, n); v.Note != "Shorter answers" {
				t.Errorf("Note = %q, want it trimmed", v.Note)
			}
		})
		t.Run("ErrNoteTooLong", func(t *testing.T) {
			cur, _ := s.FindBot(ctx, bot.ID)
			cur.Datasets, cur.Skillsets = nil, nil
			cur.Backstory = "four"
			_, err := s.UpdateBot(ctx, store.BotInput{Bot: *cur, Note: strings.Repeat("x", 501)})
			wantFieldErrors(t, err, "note")
			wantVersions(t, s, bot.ID, n)
			if got, _ := s.FindBot(ctx, bot.ID); got.Backstory != "three" {
				t.Errorf("backstory = %q: a refused change was written", got.Backstory)
			}
		})
		t.Run("LatestBotVersions", func(t *testing.T) {
			got, err := s.LatestBotVersions(ctx, []string{bot.ID, twin.ID})
			if err != nil {
				t.Fatal(err)
			}
			if got[bot.ID] != n || got[twin.ID] != twinN {
				t.Errorf("LatestBotVersions = %v, want %d and %d", got, n, twinN)
			}
			v, err := s.LatestBotVersion(ctx, bot.ID)
			if err != nil || v == nil || v.Number != n {
				t.Errorf("LatestBotVersion = %+v, %v; want number %d", v, err, n)
			}
		})
		t.Run("DeleteBotDeletesVersions", func(t *testing.T) {
			if err := s.DeleteBot(ctx, twin.ID); err != nil {
				t.Fatal(err)
			}
			if got := count(t, s, "bot_versions", "bot_id = ?", twin.ID); got != 0 {
				t.Errorf("%d versions left of a deleted bot", got)
			}
			if v, err := s.LatestBotVersion(ctx, twin.ID); err != nil || v != nil {
				t.Errorf("LatestBotVersion of a deleted bot = %+v, %v; want nil, nil", v, err)
			}
			if _, _, err := s.FindBotVersions(ctx, twin.ID, 0, 10); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("FindBotVersions of a deleted bot: %v, want not_found", err)
			}
		})
	})
}

func TestBotVersionActor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if got := store.ActorOf(context.Background()); got != models.SystemActor {
			t.Errorf("ActorOf(no actor) = %+v, want the system", got)
		}
		tests := []struct {
			name  string
			actor *models.Actor
			want  models.Actor
		}{
			{"System", nil, models.SystemActor},
			{"Operator", &models.Actor{Kind: models.ActorOperator, ID: "op-1", Name: "Ann"}, models.Actor{Kind: models.ActorOperator, ID: "op-1", Name: "Ann"}},
			{"API", &models.Actor{Kind: models.ActorAPI, ID: "sec-1", Name: "CI"}, models.Actor{Kind: models.ActorAPI, ID: "sec-1", Name: "CI"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				if tt.actor != nil {
					ctx = store.WithActor(ctx, *tt.actor)
				}
				b, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "By " + tt.name}})
				if err != nil {
					t.Fatal(err)
				}
				updateBot(t, s, ctx, b, func(b *models.Bot) { b.Backstory = "changed" })
				for _, v := range allVersions(t, s, b.ID) {
					got := models.Actor{Kind: v.CreatedByKind, ID: v.CreatedByID, Name: v.CreatedByName}
					if got != tt.want {
						t.Errorf("version %d made by %+v, want %+v", v.Number, got, tt.want)
					}
				}
			})
		}
	})
}

// Concurrent changes of one bot get consecutive numbers, never the same one,
// and the latest version has every change.
func TestBotVersionConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		t.Run("TwoUpdates", func(t *testing.T) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Busy"}})
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			start := make(chan struct{})
			for i := range 2 {
				wg.Go(func() {
					<-start
					in := *b
					in.Backstory = fmt.Sprintf("backstory %d", i)
					_, err := s.UpdateBot(ctx, store.BotInput{Bot: in})
					errs <- err
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("UpdateBot: %v", err)
				}
			}
			wantVersions(t, s, b.ID, 3)
		})
		t.Run("Attachments", func(t *testing.T) {
			// Attaching writes no bot row, so only the version lock orders these.
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Attached"}})
			const n = 4
			var ids []string
			for i := range n {
				ids = append(ids, mustDataset(t, s, fmt.Sprintf("D%d", i)).ID)
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			start := make(chan struct{})
			for _, id := range ids {
				wg.Go(func() {
					<-start
					errs <- s.AttachDataset(ctx, b.ID, id)
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("AttachDataset: %v", err)
				}
			}
			last := wantVersions(t, s, b.ID, n+1)
			if got := len(last.Snapshot.Datasets); got != n {
				t.Errorf("latest version has %d datasets, want %d", got, n)
			}
		})
	})
}

func TestRestoreBotVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := store.WithActor(t.Context(), models.Actor{Kind: models.ActorOperator, ID: "op-1", Name: "Ann"})
		ds := mustDataset(t, s, "FAQ")
		gone := mustDataset(t, s, "Gone")
		ks := mustSkillset(t, s, "Tools")
		goneKS := mustSkillset(t, s, "Gone tools")
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "R", Backstory: "first", Model: "local"},
			DatasetIDs: []string{ds.ID, gone.ID}, SkillsetIDs: []string{ks.ID, goneKS.ID}})
		v1, err := s.FindBotVersion(ctx, b.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		cur, _ := s.FindBot(ctx, b.ID)
		cur.Datasets, cur.Skillsets = nil, nil
		cur.Backstory, cur.Model, cur.Privacy, cur.Moderation = "second", "local/x", true, true
		if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *cur, DatasetIDs: []string{}, SkillsetIDs: []string{}}); err != nil {
			t.Fatal(err)
		}
		wantVersions(t, s, b.ID, 2)

		t.Run("OK", func(t *testing.T) {
			res, err := s.RestoreBotVersion(ctx, b.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			if res.New == nil || res.New.Number != 3 || res.New.Note != "Restored version 1" || res.New.CreatedByName != "Ann" {
				t.Fatalf("new version = %+v, want number 3 noted 'Restored version 1', made by Ann", res.New)
			}
			if !res.New.Snapshot.Equal(v1.Snapshot) {
				t.Errorf("restored snapshot %+v, want version 1's %+v", res.New.Snapshot, v1.Snapshot)
			}
			got, _ := s.FindBot(ctx, b.ID)
			if got.Backstory != "first" || got.Model != "local" || got.Privacy || got.Moderation || len(got.Datasets) != 2 || len(got.Skillsets) != 2 {
				t.Errorf("bot after restore = %+v, want version 1's settings", got)
			}
			wantVersions(t, s, b.ID, 3)
		})
		t.Run("SameAsLatestMakesNoVersion", func(t *testing.T) {
			res, err := s.RestoreBotVersion(ctx, b.ID, 3)
			if err != nil {
				t.Fatal(err)
			}
			if res.New != nil {
				t.Errorf("restoring the latest made version %d", res.New.Number)
			}
			wantVersions(t, s, b.ID, 3)
		})
		t.Run("MissingAttachmentsSkipped", func(t *testing.T) {
			if err := s.DeleteDataset(ctx, gone.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteSkillset(ctx, goneKS.ID); err != nil {
				t.Fatal(err)
			}
			wantVersions(t, s, b.ID, 5) // each deletion detached one
			if _, err := s.RestoreBotVersion(ctx, b.ID, 2); err != nil {
				t.Fatal(err)
			}
			wantVersions(t, s, b.ID, 6)
			plan, err := s.PlanRestore(ctx, b.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.MissingDatasets) != 1 || plan.MissingDatasets[0].Name != "Gone" ||
				len(plan.MissingSkillsets) != 1 || plan.MissingSkillsets[0].Name != "Gone tools" {
				t.Errorf("plan = %+v, want the deleted dataset and skillset named as missing", plan)
			}
			res, err := s.RestoreBotVersion(ctx, b.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := s.FindBot(ctx, b.ID)
			if got.Backstory != "first" || len(got.Datasets) != 1 || got.Datasets[0].ID != ds.ID || len(got.Skillsets) != 1 || got.Skillsets[0].ID != ks.ID {
				t.Errorf("bot after restore = %+v, want version 1 without what is gone", got)
			}
			if res.New == nil || res.New.Number != 7 || len(res.MissingDatasets) != 1 {
				t.Errorf("restore = %+v, want version 7 and the missing dataset named", res)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.RestoreBotVersion(ctx, b.ID, 99)
			wantCode(t, err, models.CodeNotFound)
			_, err = s.PlanRestore(ctx, models.NewID(), 1)
			wantCode(t, err, models.CodeNotFound)
			wantVersions(t, s, b.ID, 7)
		})
	})
}

func TestFindBotVersionsPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Paged"}})
		for i := 2; i <= 30; i++ {
			updateBot(t, s, ctx, b, func(b *models.Bot) { b.Backstory = fmt.Sprint(i) })
		}
		first, next, err := s.FindBotVersions(ctx, b.ID, 0, 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 25 || first[0].Number != 30 || first[24].Number != 6 || next != 6 {
			t.Fatalf("first page: %d versions from %d, next %d; want 25 from 30, next 6", len(first), first[0].Number, next)
		}
		rest, next, err := s.FindBotVersions(ctx, b.ID, next, 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) != 5 || rest[0].Number != 5 || rest[4].Number != 1 || next != 0 {
			t.Errorf("second page: %d versions, next %d; want 5 (5…1), next 0", len(rest), next)
		}
		nums, err := s.BotVersionNumbers(ctx, b.ID, 10)
		if err != nil || len(nums) != 10 || nums[0].Number != 30 {
			t.Errorf("BotVersionNumbers = %d items, %v; want the latest 10", len(nums), err)
		}
	})
}

// Migration 7 gives every existing bot version 1 from its state, in the
// format live snapshots have (saving the bot unchanged makes no version 2).
func TestMigrate0007(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, storetest.URL(t, d), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := store.MigrateTo(s, 6); err != nil {
				t.Fatalf("migrate to 6: %v", err)
			}
			db := s.DB()
			now := s.Now().UTC()
			botID, bareID, dsID, ksID, abID := models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID()
			for _, row := range []struct {
				table string
				vals  map[string]any
			}{
				{"bots", map[string]any{"id": botID, "name": "Old", "description": "", "backstory": "Be kind.", "model": "local",
					"privacy": true, "moderation": false, "visibility": "private", "meta": models.Meta{}, "created_at": now, "updated_at": now}},
				{"bots", map[string]any{"id": bareID, "name": "Bare", "description": "", "backstory": "", "model": "",
					"privacy": false, "moderation": false, "visibility": "private", "meta": models.Meta{}, "created_at": now, "updated_at": now}},
				{"datasets", map[string]any{"id": dsID, "name": "FAQ", "description": "", "meta": models.Meta{}, "store": "", "reranker": "",
					"record_max_tokens": 800, "search_min_score": 0.3, "search_max_records": 4, "search_max_tokens": 3000,
					"match_instruction": "Cite.", "mismatch_instruction": "", "separators": "", "visibility": "private", "created_at": now, "updated_at": now}},
				{"skillsets", map[string]any{"id": ksID, "name": "Tools", "description": "", "visibility": "private", "meta": models.Meta{},
					"created_at": now, "updated_at": now}},
				{"abilities", map[string]any{"id": abID, "skillset_id": ksID, "name": "clock", "description": "Time", "instruction": "",
					"meta": models.Meta{"action": "clock"}, "created_at": now, "updated_at": now}},
				{"bot_datasets", map[string]any{"bot_id": botID, "dataset_id": dsID, "created_at": now}},
				{"bot_skillsets", map[string]any{"bot_id": botID, "skillset_id": ksID, "created_at": now}},
			} {
				if err := db.Table(row.table).Create(row.vals).Error; err != nil {
					t.Fatalf("insert into %s: %v", row.table, err)
				}
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if !db.Migrator().HasIndex("bot_versions", "idx_bot_versions_number") {
				t.Error("unique index idx_bot_versions_number missing")
			}
			v, err := s.FindBotVersion(ctx, botID, 1)
			if err != nil {
				t.Fatalf("version 1: %v", err)
			}
			want := models.BotSnapshot{Backstory: "Be kind.", Model: "local", Privacy: true,
				Datasets: []models.DatasetSnapshot{{ID: dsID, Name: "FAQ", SearchMaxRecords: 4, SearchMinScore: 0.3, RecordMaxTokens: 800, MatchInstruction: "Cite."}},
				Skillsets: []models.SkillsetSnapshot{{ID: ksID, Name: "Tools", Abilities: []models.AbilitySnapshot{
					{ID: abID, Name: "clock", Description: "Time", Meta: models.Meta{"action": "clock"}}}}}}
			if !v.Snapshot.Equal(want) || v.CreatedByKind != models.ActorSystem {
				t.Errorf("version 1 = %+v by %s, want %+v by the system", v.Snapshot, v.CreatedByKind, want)
			}
			wantVersions(t, s, bareID, 1)
			// Saving each bot unchanged makes no version: the formats agree.
			for _, id := range []string{botID, bareID} {
				b, err := s.FindBot(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				updateBot(t, s, ctx, b, func(*models.Bot) {})
				wantVersions(t, s, id, 1)
			}
			// The numbering goes on from 1.
			b, _ := s.FindBot(ctx, botID)
			updateBot(t, s, ctx, b, func(b *models.Bot) { b.Backstory = "Be brief." })
			wantVersions(t, s, botID, 2)
		})
	}
}
