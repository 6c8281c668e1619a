package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := Load(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Port != 3000 || c.DatabaseURL != "sqlite:data/parley.db" || c.LogLevel != "info" || c.LogFormat != "text" {
			t.Errorf("defaults = %+v", c)
		}
		if len(c.ModerationWords) == 0 || strings.Join(c.ModerationWords, ",") != strings.Join(DefaultModerationWords, ",") {
			t.Errorf("moderation words = %q, want the default list", c.ModerationWords)
		}
	})
	t.Run("ChannelURLs", func(t *testing.T) {
		c, err := Load(env(nil))
		if err != nil || c.PublicURL != "" || c.TelegramAPIURL != DefaultTelegramAPIURL {
			t.Fatalf("defaults: public %q, telegram %q, %v", c.PublicURL, c.TelegramAPIURL, err)
		}
		c, err = Load(env(map[string]string{"PARLEY_PUBLIC_URL": " https://parley.example.com/ ", "PARLEY_TELEGRAM_API_URL": "http://127.0.0.1:8081"}))
		if err != nil || c.PublicURL != "https://parley.example.com" || c.TelegramAPIURL != "http://127.0.0.1:8081" {
			t.Errorf("set: public %q, telegram %q, %v", c.PublicURL, c.TelegramAPIURL, err)
		}
	})
	t.Run("ModerationWords", func(t *testing.T) {
		c, err := Load(env(map[string]string{"PARLEY_MODERATION_WORDS": " Scam , wire   fraud,Überweisung "}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(c.ModerationWords, "|"), "Scam|wire fraud|Überweisung"; got != want {
			t.Errorf("moderation words = %q, want %q", got, want)
		}
	})
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ErrPort", map[string]string{"PORT": "abc"}, "PORT must be a number"},
		{"ErrDatabaseURL", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with"},
		{"ErrLogLevel", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL must be"},
		{"ErrSecretKeyShort", map[string]string{"PARLEY_SECRET_KEY": "short"}, "PARLEY_SECRET_KEY must be at least 32"},
		{"ErrAdminWithoutPassword", map[string]string{"PARLEY_ADMIN_EMAIL": "a@b.c"}, "needs PARLEY_ADMIN_PASSWORD"},
		{"ErrGrace", map[string]string{"PARLEY_SHUTDOWN_GRACE": "soon"}, "PARLEY_SHUTDOWN_GRACE"},
		{"ErrMetricsAddr", map[string]string{"PARLEY_METRICS_ADDR": "9090"}, "PARLEY_METRICS_ADDR must be host:port"},
		{"ErrMetricsToken", map[string]string{"PARLEY_METRICS_ADDR": "127.0.0.1:9090", "PARLEY_METRICS_TOKEN": "short"}, "PARLEY_METRICS_TOKEN must be at least 16"},
		{"ErrModerationWordEmpty", map[string]string{"PARLEY_MODERATION_WORDS": "scam,,fraud"}, "PARLEY_MODERATION_WORDS: entry 2 is empty"},
		{"ErrModerationWordPunctuation", map[string]string{"PARLEY_MODERATION_WORDS": "scam, !!!"}, `entry 2 ("!!!") must begin and end with a letter or digit`},
		{"ErrModerationWordLong", map[string]string{"PARLEY_MODERATION_WORDS": strings.Repeat("a", 101)}, "entry 1 is longer than 100 characters"},
		{"ErrModerationWordControl", map[string]string{"PARLEY_MODERATION_WORDS": "bad\x01word"}, "entry 1 has control characters"},
		{"ErrPublicURLRelative", map[string]string{"PARLEY_PUBLIC_URL": "parley.example.com"}, "PARLEY_PUBLIC_URL must be an absolute http or https URL"},
		{"ErrPublicURLScheme", map[string]string{"PARLEY_PUBLIC_URL": "ftp://parley.example.com"}, "PARLEY_PUBLIC_URL must be an absolute"},
		{"ErrPublicURLCredentials", map[string]string{"PARLEY_PUBLIC_URL": "https://u:p@parley.example.com"}, "PARLEY_PUBLIC_URL must be an absolute"},
		{"ErrTelegramAPIURL", map[string]string{"PARLEY_TELEGRAM_API_URL": "api.telegram.org"}, "PARLEY_TELEGRAM_API_URL must be an absolute"},
		{"ErrModerationTooMany", map[string]string{"PARLEY_MODERATION_WORDS": strings.Repeat("w,", 1000) + "w"}, "at most 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestTimeoutsAgree pins the relation between the time limits: a streamed
// turn and a live event stream are single responses, so both must end before
// the write timeout would cut them.
func TestTimeoutsAgree(t *testing.T) {
	d := DefaultTimeouts
	if err := d.Check(); err != nil {
		t.Fatalf("the default timeouts disagree: %v", err)
	}
	if d.Turn >= d.Write || d.Stream >= d.Write {
		t.Errorf("turn %s and stream %s must be shorter than write %s", d.Turn, d.Stream, d.Write)
	}
	if d.Read >= d.Idle {
		t.Errorf("read %s should be shorter than idle %s", d.Read, d.Idle)
	}
	for name, bad := range map[string]Timeouts{
		"StreamOutlivesWrite": {Read: d.Read, Idle: d.Idle, Turn: d.Turn, Stream: d.Write, Write: d.Write},
		"TurnOutlivesWrite":   {Read: d.Read, Idle: d.Idle, Turn: d.Write, Stream: d.Stream, Write: d.Write},
		"Zero":                {},
	} {
		if bad.Check() == nil {
			t.Errorf("%s: Check accepted %+v", name, bad)
		}
	}
}
