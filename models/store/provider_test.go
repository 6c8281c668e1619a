package store_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/app/crypto"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// testKey is the API key the provider tests store.
const testKey = "sk-test-0123456789abcdefSECRET"

// useBox gives the store a Box with a key made of fill, and returns it.
func useBox(t *testing.T, s *store.Store, fill byte) *crypto.Box {
	t.Helper()
	b, err := crypto.NewBox(bytes.Repeat([]byte{fill}, crypto.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s.SetBox(b)
	return b
}

func newProvider(name string) models.Provider {
	return models.Provider{Name: name, Kind: models.ProviderKindOpenAI, BaseURL: "https://api.example.com/v1",
		DefaultModel: "gpt-4o-mini", TimeoutSeconds: 60}
}

func mustProvider(t *testing.T, s *store.Store, name, key string) *models.Provider {
	t.Helper()
	p, err := s.CreateProvider(t.Context(), newProvider(name), key)
	if err != nil {
		t.Fatalf("CreateProvider(%q): %v", name, err)
	}
	return p
}

// rawColumn reads one column of one row as text, straight from the database.
func rawColumn(t *testing.T, s *store.Store, table, col, id string) *string {
	t.Helper()
	var v []sql.NullString
	if err := s.DB().Table(table).Where("id = ?", id).Pluck(col, &v).Error; err != nil || len(v) != 1 {
		t.Fatalf("read %s.%s: %d rows, %v", table, col, len(v), err)
	}
	if !v[0].Valid {
		return nil
	}
	return &v[0].String
}

// wantNoSecretInRow fails if any column of the row holds secret.
func wantNoSecretInRow(t *testing.T, s *store.Store, table, id, secret string) {
	t.Helper()
	var row map[string]any
	if err := s.DB().Table(table).Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	for col, v := range row {
		str := fmt.Sprint(v)
		if b, ok := v.([]byte); ok {
			str = string(b)
		}
		if strings.Contains(str, secret) {
			t.Errorf("column %s.%s holds the secret in the clear", table, col)
		}
	}
}

func TestCreateProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		useBox(t, s, 1)
		t.Run("OK", func(t *testing.T) {
			in := models.Provider{Name: "  OpenAI ", BaseURL: " https://api.openai.com/v1/ ", DefaultModel: " gpt-4o-mini ", TimeoutSeconds: 30}
			p, err := s.CreateProvider(t.Context(), in, "  "+testKey+"\n")
			if err != nil {
				t.Fatalf("CreateProvider: %v", err)
			}
			if p.Name != "openai" || p.Kind != "openai" || p.BaseURL != "https://api.openai.com/v1" || p.DefaultModel != "gpt-4o-mini" {
				t.Errorf("provider = %+v, want normalised name, kind, base URL and model", p)
			}
			if !p.HasKey() {
				t.Error("HasKey = false, want true")
			}
			enc := rawColumn(t, s, "providers", "api_key_enc", p.ID)
			if enc == nil || *enc == testKey || strings.Contains(*enc, testKey) || !strings.HasPrefix(*enc, "v1:") {
				t.Errorf("api_key_enc = %v, want the key sealed", enc)
			}
			wantNoSecretInRow(t, s, "providers", p.ID, testKey)
			key, err := s.ProviderKey(t.Context(), p.ID)
			if err != nil || key != testKey {
				t.Errorf("ProviderKey = %q, %v; want the key, trimmed", key, err)
			}
			found, err := s.FindProvider(t.Context(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantUTC(t, s, map[string]time.Time{"CreatedAt": found.CreatedAt, "UpdatedAt": found.UpdatedAt})
		})
		t.Run("WithoutKey", func(t *testing.T) {
			p := mustProvider(t, s, "ollama", "  ")
			if p.HasKey() || rawColumn(t, s, "providers", "api_key_enc", p.ID) != nil {
				t.Error("a blank key was stored; want NULL")
			}
			if key, err := s.ProviderKey(t.Context(), p.ID); err != nil || key != "" {
				t.Errorf("ProviderKey = %q, %v; want empty", key, err)
			}
		})
		t.Run("ErrNameTaken", func(t *testing.T) {
			_, err := s.CreateProvider(t.Context(), newProvider("OLLAMA"), "")
			wantFieldErrors(t, err, "name")
		})

		long := strings.Repeat("a", 41)
		cases := []struct {
			name   string
			edit   func(p *models.Provider)
			key    string
			fields []string
		}{
			{"ErrNameRequired", func(p *models.Provider) { p.Name = " " }, "", []string{"name"}},
			{"ErrNameLocal", func(p *models.Provider) { p.Name = "Local" }, "", []string{"name"}},
			{"ErrNameSlug", func(p *models.Provider) { p.Name = "my provider" }, "", []string{"name"}},
			{"ErrNameSlash", func(p *models.Provider) { p.Name = "a/b" }, "", []string{"name"}},
			{"ErrNameDash", func(p *models.Provider) { p.Name = "-x" }, "", []string{"name"}},
			{"ErrNameLong", func(p *models.Provider) { p.Name = long }, "", []string{"name"}},
			{"ErrKind", func(p *models.Provider) { p.Kind = "anthropic" }, "", []string{"kind"}},
			{"ErrBaseURLRequired", func(p *models.Provider) { p.BaseURL = "" }, "", []string{"baseUrl"}},
			{"ErrBaseURLScheme", func(p *models.Provider) { p.BaseURL = "ftp://example.com" }, "", []string{"baseUrl"}},
			{"ErrBaseURLNoHost", func(p *models.Provider) { p.BaseURL = "http://" }, "", []string{"baseUrl"}},
			{"ErrBaseURLNotURL", func(p *models.Provider) { p.BaseURL = "localhost:11434" }, "", []string{"baseUrl"}},
			{"ErrBaseURLCredentials", func(p *models.Provider) { p.BaseURL = "https://me:pw@example.com/v1" }, "", []string{"baseUrl"}},
			{"ErrBaseURLQuery", func(p *models.Provider) { p.BaseURL = "https://example.com/v1?key=1" }, "", []string{"baseUrl"}},
			{"ErrBaseURLLong", func(p *models.Provider) { p.BaseURL = "https://example.com/" + strings.Repeat("v", 490) }, "", []string{"baseUrl"}},
			{"ErrDefaultModelLong", func(p *models.Provider) { p.DefaultModel = strings.Repeat("m", 201) }, "", []string{"defaultModel"}},
			{"ErrTimeoutZero", func(p *models.Provider) { p.TimeoutSeconds = 0 }, "", []string{"timeoutSeconds"}},
			{"ErrTimeoutLong", func(p *models.Provider) { p.TimeoutSeconds = 601 }, "", []string{"timeoutSeconds"}},
			{"ErrKeySpaces", func(p *models.Provider) {}, "sk one", []string{"apiKey"}},
			{"ErrKeyLong", func(p *models.Provider) {}, strings.Repeat("k", models.MaxAPIKeyLength+1), []string{"apiKey"}},
			{"ErrSeveral", func(p *models.Provider) { p.Name, p.BaseURL = "", "x" }, "a\nb", []string{"name", "baseUrl", "apiKey"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "providers", "")
				p := newProvider("valid-name")
				tc.edit(&p)
				_, err := s.CreateProvider(t.Context(), p, tc.key)
				wantFieldErrors(t, err, tc.fields...)
				for f, msg := range models.ErrorFields(err) {
					if strings.Contains(msg, "Base url") || strings.Contains(msg, "("+f+")") {
						t.Errorf("Fields[%s] = %q: not a message for people", f, msg)
					}
				}
				if tc.key != "" && strings.Contains(models.ErrorMessage(err), tc.key) {
					t.Error("the error message repeats the key")
				}
				if got := count(t, s, "providers", ""); got != before {
					t.Errorf("providers = %d after a refused create, want %d", got, before)
				}
			})
		}
	})
}

func TestProviderWithoutBox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, err := s.CreateProvider(t.Context(), newProvider("openai"), testKey)
		wantCode(t, err, models.CodeUnavailable)
		if n := count(t, s, "providers", ""); n != 0 {
			t.Errorf("providers = %d, want nothing stored without encryption", n)
		}
		p := mustProvider(t, s, "ollama", "")
		if key, err := s.ProviderKey(t.Context(), p.ID); err != nil || key != "" {
			t.Errorf("ProviderKey without a key = %q, %v; want empty and no error", key, err)
		}
		wantCode(t, s.CheckBox(t.Context()), models.CodeUnavailable)
	})
}

func TestUpdateProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		useBox(t, s, 1)
		ctx := t.Context()
		p := mustProvider(t, s, "openai", testKey)
		encBefore := *rawColumn(t, s, "providers", "api_key_enc", p.ID)

		t.Run("BlankKeeps", func(t *testing.T) {
			in := *p
			in.DefaultModel = "gpt-4o"
			in.TimeoutSeconds = 90
			got, err := s.UpdateProvider(ctx, in, nil)
			if err != nil {
				t.Fatalf("UpdateProvider: %v", err)
			}
			if got.DefaultModel != "gpt-4o" || got.TimeoutSeconds != 90 || !got.HasKey() || !got.CreatedAt.Equal(p.CreatedAt) {
				t.Errorf("updated = %+v", got)
			}
			if enc := rawColumn(t, s, "providers", "api_key_enc", p.ID); enc == nil || *enc != encBefore {
				t.Errorf("api_key_enc changed although no new key was given")
			}
			found, _ := s.FindProvider(ctx, p.ID)
			if !found.UpdatedAt.After(p.UpdatedAt) && !found.UpdatedAt.Equal(p.UpdatedAt) {
				t.Errorf("UpdatedAt = %v, want at least %v", found.UpdatedAt, p.UpdatedAt)
			}
			if key, _ := s.ProviderKey(ctx, p.ID); key != testKey {
				t.Errorf("ProviderKey = %q, want the kept key", key)
			}
		})
		t.Run("NewKeyReplaces", func(t *testing.T) {
			cur, _ := s.FindProvider(ctx, p.ID)
			got, err := s.UpdateProvider(ctx, *cur, ptr("sk-new-key"))
			if err != nil {
				t.Fatal(err)
			}
			if !got.HasKey() {
				t.Error("HasKey = false")
			}
			if key, _ := s.ProviderKey(ctx, p.ID); key != "sk-new-key" {
				t.Errorf("ProviderKey = %q, want the new key", key)
			}
			wantNoSecretInRow(t, s, "providers", p.ID, "sk-new-key")
		})
		t.Run("EmptyKeyRemoves", func(t *testing.T) {
			cur, _ := s.FindProvider(ctx, p.ID)
			got, err := s.UpdateProvider(ctx, *cur, ptr(""))
			if err != nil {
				t.Fatal(err)
			}
			if got.HasKey() || rawColumn(t, s, "providers", "api_key_enc", p.ID) != nil {
				t.Error("the key is still stored after removing it")
			}
		})
		t.Run("ErrInvalidKeepsRow", func(t *testing.T) {
			cur, _ := s.FindProvider(ctx, p.ID)
			in := *cur
			in.BaseURL = "nope"
			_, err := s.UpdateProvider(ctx, in, ptr("sk-other"))
			wantFieldErrors(t, err, "baseUrl")
			after, _ := s.FindProvider(ctx, p.ID)
			if after.BaseURL != cur.BaseURL || after.HasKey() {
				t.Errorf("a refused update changed the row: %+v", after)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			in := newProvider("ghost")
			in.ID = models.NewID()
			_, err := s.UpdateProvider(ctx, in, nil)
			wantCode(t, err, models.CodeNotFound)
			in.ID = "nope"
			_, err = s.UpdateProvider(ctx, in, nil)
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("ErrNameTaken", func(t *testing.T) {
			other := mustProvider(t, s, "other", "")
			in := *other
			in.Name = "openai"
			_, err := s.UpdateProvider(ctx, in, nil)
			wantFieldErrors(t, err, "name")
		})
		t.Run("RenameUnused", func(t *testing.T) {
			q := mustProvider(t, s, "rename-me", "")
			in := *q
			in.Name = "renamed"
			got, err := s.UpdateProvider(ctx, in, nil)
			if err != nil || got.Name != "renamed" {
				t.Fatalf("rename = %v, %v", got, err)
			}
		})
		t.Run("ErrRenameInUse", func(t *testing.T) {
			mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Uses openai", Model: "openai/gpt-4o"}})
			cur, _ := s.FindProvider(ctx, p.ID)
			in := *cur
			in.Name = "openai-eu"
			_, err := s.UpdateProvider(ctx, in, nil)
			wantFieldErrors(t, err, "name")
			if msg := models.ErrorFields(err)["name"]; !strings.Contains(msg, `"Uses openai"`) {
				t.Errorf("message %q does not name the bot", msg)
			}
		})
	})
}

func TestFindProviders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		for i := range 5 {
			mustProvider(t, s, fmt.Sprintf("p%d", i), "")
		}
		var names []string
		cursor := ""
		for page := 0; page < 5; page++ {
			items, next, err := s.FindProviders(ctx, models.Page{Cursor: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range items {
				names = append(names, p.Name)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if got := strings.Join(names, ","); got != "p4,p3,p2,p1,p0" {
			t.Errorf("pages = %s, want newest first, each once", got)
		}

		t.Run("ByName", func(t *testing.T) {
			p, err := s.FindProviderByName(ctx, " P3 ")
			if err != nil || p.Name != "p3" {
				t.Errorf("FindProviderByName = %v, %v", p, err)
			}
			_, err = s.FindProviderByName(ctx, "missing")
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.FindProvider(ctx, "bad")
			wantCode(t, err, models.CodeNotFound)
			_, err = s.FindProvider(ctx, models.NewID())
			wantCode(t, err, models.CodeNotFound)
		})
	})
}

func TestDeleteProvider(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProvider(t, s, "openai", "")
		a := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Alpha", Model: "openai/gpt-4o"}})
		b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Beta", Model: "OpenAI"}})
		mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Gamma", Model: "openai-eu/gpt-4o"}})
		mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Delta", Model: "local"}})

		refs, err := s.BotsUsingProvider(ctx, "openai")
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 2 || refs[0].Name != "Alpha" || refs[1].Name != "Beta" {
			t.Errorf("BotsUsingProvider = %v, want Alpha and Beta", refs)
		}

		t.Run("ErrInUse", func(t *testing.T) {
			err := s.DeleteProvider(ctx, p.ID)
			wantCode(t, err, models.CodeConflict)
			msg := models.ErrorMessage(err)
			if !strings.Contains(msg, `"Alpha"`) || !strings.Contains(msg, `"Beta"`) || strings.Contains(msg, "Gamma") {
				t.Errorf("message %q should name Alpha and Beta only", msg)
			}
			if _, err := s.FindProvider(ctx, p.ID); err != nil {
				t.Errorf("the provider is gone after a refused delete: %v", err)
			}
		})
		t.Run("OKOnceUnused", func(t *testing.T) {
			for _, bot := range []*models.Bot{a, b} {
				cur, _ := s.FindBot(ctx, bot.ID)
				cur.Model = "local"
				if _, err := s.UpdateBot(ctx, store.BotInput{Bot: *cur}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DeleteProvider(ctx, p.ID); err != nil {
				t.Fatalf("DeleteProvider: %v", err)
			}
			wantCode(t, s.DeleteProvider(ctx, p.ID), models.CodeNotFound)
			wantCode(t, s.DeleteProvider(ctx, "bad"), models.CodeNotFound)
		})
	})
}

func TestProviderKeyWrongBox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		useBox(t, s, 1)
		p := mustProvider(t, s, "openai", testKey)
		if err := s.CheckBox(t.Context()); err != nil {
			t.Fatalf("CheckBox with the first key: %v", err)
		}
		if err := s.CheckBox(t.Context()); err != nil {
			t.Fatalf("CheckBox again: %v", err)
		}

		useBox(t, s, 2)
		key, err := s.ProviderKey(t.Context(), p.ID)
		wantCode(t, err, models.CodeUnavailable)
		if key != "" || strings.Contains(err.Error(), testKey) {
			t.Errorf("ProviderKey = %q, %v; want no key and an error without it", key, err)
		}
		if !strings.Contains(err.Error(), `provider "openai"`) {
			t.Errorf("error %q does not name the provider", err)
		}
		err = s.CheckBox(t.Context())
		wantCode(t, err, models.CodeUnavailable)
		if !strings.Contains(models.ErrorMessage(err), "PARLEY_SECRET_KEY") {
			t.Errorf("CheckBox message %q does not say which key", models.ErrorMessage(err))
		}
	})
}
