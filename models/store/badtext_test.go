package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// countRows counts a table's rows.
func countRows(t *testing.T, s *store.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// overMeta is a meta whose JSON is just over models.MaxMetaBytes.
func overMeta() models.Meta {
	return models.Meta{"big": strings.Repeat("m", models.MaxMetaBytes)}
}

// TestStoreRefusesBadText: text PostgreSQL cannot store (a NUL character,
// invalid UTF-8) and meta over its size are an invalid-input error naming the
// field on both databases alike, and nothing is written.
func TestStoreRefusesBadText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ds := mustDataset(t, s, "D")
		rec := mustRecord(t, s, ds.ID, "Refunds within 14 days.")
		ks := mustSkillset(t, s, "K")
		ab := mustAbility(t, s, ks.ID, "A")
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "B"}})
		conv := mustConversation(t, s, models.Conversation{Name: "C"})
		msg := mustMessage(t, s, conv.ID, models.MessageUser, "hello")
		nul, badUTF8 := "a\x00b", "caf\xe9"

		cases := []struct {
			name, table, field string
			run                func() error
		}{
			{"BotNameNUL", "bots", "name", func() error {
				_, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: nul}})
				return err
			}},
			{"BotBackstoryUTF8", "bots", "backstory", func() error {
				_, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "x", Backstory: badUTF8}})
				return err
			}},
			{"BotMetaNUL", "bots", "meta", func() error {
				_, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "x", Meta: models.Meta{"k": nul}}})
				return err
			}},
			{"BotMetaTooLarge", "bots", "meta", func() error {
				_, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "x", Meta: overMeta()}})
				return err
			}},
			{"BotUpdateMetaTooLarge", "bots", "meta", func() error {
				b := *bot
				b.Datasets, b.Meta = nil, overMeta()
				_, err := s.UpdateBot(ctx, store.BotInput{Bot: b})
				return err
			}},
			{"DatasetDescriptionNUL", "datasets", "description", func() error {
				d := models.NewDataset()
				d.Name, d.Description = "x", nul
				_, err := s.CreateDataset(ctx, d)
				return err
			}},
			{"DatasetMetaTooLarge", "datasets", "meta", func() error {
				d := models.NewDataset()
				d.Name, d.Meta = "x", overMeta()
				_, err := s.CreateDataset(ctx, d)
				return err
			}},
			{"DatasetUpdateMetaNUL", "datasets", "meta", func() error {
				d := *ds
				d.Meta = models.Meta{nul: 1.0}
				_, err := s.UpdateDataset(ctx, d)
				return err
			}},
			{"RecordTextNUL", "dataset_records", "text", func() error {
				_, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: nul})
				return err
			}},
			{"RecordMetaTooLarge", "dataset_records", "meta", func() error {
				_, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: ds.ID, Text: "x", Meta: overMeta()})
				return err
			}},
			{"RecordUpdateSourceUTF8", "dataset_records", "source", func() error {
				r := *rec
				r.Source = badUTF8
				_, err := s.UpdateRecord(ctx, r)
				return err
			}},
			{"SkillsetMetaTooLarge", "skillsets", "meta", func() error {
				_, err := s.CreateSkillset(ctx, models.Skillset{Name: "x", Meta: overMeta()})
				return err
			}},
			{"AbilityInstructionNUL", "abilities", "instruction", func() error {
				_, err := s.CreateAbility(ctx, models.Ability{SkillsetID: ks.ID, Name: "x", Instruction: nul})
				return err
			}},
			{"AbilityUpdateMetaTooLarge", "abilities", "meta", func() error {
				a := *ab
				a.Meta = overMeta()
				_, err := s.UpdateAbility(ctx, a)
				return err
			}},
			{"ConversationMetaTooLarge", "conversations", "meta", func() error {
				_, err := s.CreateConversation(ctx, models.Conversation{Name: "x", Meta: overMeta()}, nil)
				return err
			}},
			{"ConversationMessageNUL", "messages", "text", func() error {
				_, err := s.CreateConversation(ctx, models.Conversation{Name: "x"}, []models.Message{{Type: models.MessageUser, Text: nul}})
				return err
			}},
			{"ConversationUpdateNameNUL", "conversations", "name", func() error {
				c := *conv
				c.Name = nul
				_, err := s.UpdateConversation(ctx, c)
				return err
			}},
			{"MessageTextNUL", "messages", "text", func() error {
				_, err := s.CreateMessage(ctx, models.Message{ConversationID: conv.ID, Type: models.MessageUser, Text: nul})
				return err
			}},
			{"MessageUpdateMetaNUL", "messages", "meta", func() error {
				m := *msg
				m.Meta = models.Meta{"note": nul}
				_, err := s.UpdateMessage(ctx, m)
				return err
			}},
			{"SetMessageMetaNUL", "messages", "meta", func() error {
				_, err := s.SetMessageMeta(ctx, conv.ID, msg.ID, "rating", map[string]any{"reason": nul})
				return err
			}},
			{"OperatorNameNUL", "operators", "name", func() error {
				_, err := s.CreateOperator(ctx, models.Operator{Email: "nul@example.com", Name: nul, Role: models.RoleQA}, testPassword)
				return err
			}},
		}
		snapshot := func() string {
			var out []string
			for _, table := range []string{"bots", "datasets", "dataset_records", "skillsets", "abilities", "conversations", "messages", "operators"} {
				var rows []map[string]any
				if err := s.DB().Table(table).Order("id").Find(&rows).Error; err != nil {
					t.Fatalf("read %s: %v", table, err)
				}
				out = append(out, fmt.Sprint(rows))
			}
			return strings.Join(out, "\n")
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, n := snapshot(), countRows(t, s, tc.table)
				wantFieldErrors(t, tc.run(), tc.field)
				if got := countRows(t, s, tc.table); got != n {
					t.Errorf("%s: %d rows, want %d", tc.table, got, n)
				}
				if snapshot() != before {
					t.Error("a refused write changed stored rows")
				}
			})
		}

		t.Run("MetaAtLimit", func(t *testing.T) {
			m := models.Meta{"big": strings.Repeat("m", models.MaxMetaBytes-len(`{"big":""}`))}
			if _, err := s.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "At limit", Meta: m}}); err != nil {
				t.Errorf("CreateBot with meta of exactly %d bytes: %v", models.MaxMetaBytes, err)
			}
		})
	})
}

// TestTranslateBadText: when PostgreSQL refuses text (SQLSTATE 22021 for a
// NUL or invalid UTF-8 in text, 22P05 for \u0000 in jsonb), the store answers
// invalid input rather than an internal error.
func TestTranslateBadText(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"CharacterNotInRepertoire", &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}, models.CodeInvalid},
		{"UntranslatableCharacter", fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "22P05", Message: "unsupported Unicode escape sequence"}), models.CodeInvalid},
		{"OtherPostgresError", &pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, models.CodeInternal},
		{"NotPostgres", fmt.Errorf("disk full"), models.CodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := store.Translate(tc.err, "bot")
			if got := models.ErrorCode(err); got != tc.want {
				t.Errorf("code = %q, want %q (err: %v)", got, tc.want, err)
			}
			if tc.want == models.CodeInvalid && !strings.Contains(models.ErrorMessage(err), "NUL") {
				t.Errorf("message %q does not say what is wrong", models.ErrorMessage(err))
			}
		})
	}

	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("LookupWithNUL", func(t *testing.T) {
			// A lookup with an unvalidated name: PostgreSQL refuses the NUL, SQLite finds nothing.
			_, err := s.FindProviderByName(ctx, "oll\x00ama")
			want := models.CodeNotFound
			if s.Dialect() == store.Postgres {
				want = models.CodeInvalid
			}
			wantCode(t, err, want)
		})
		if s.Dialect() != store.Postgres {
			return
		}
		for _, tc := range []struct{ name, sql, arg string }{
			{"TextNUL", "SELECT CAST(? AS text)", "a\x00b"},
			{"JSONBNUL", "SELECT CAST(? AS jsonb)", `{"a":"\u0000"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var out string
				err := s.DB().WithContext(ctx).Raw(tc.sql, tc.arg).Scan(&out).Error
				if err == nil {
					t.Fatal("PostgreSQL accepted the text")
				}
				wantCode(t, store.Translate(err, "bot"), models.CodeInvalid)
			})
		}
	})
}
