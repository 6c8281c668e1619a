package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// SigningSecretPrefix starts every generic webhook signing secret, so a
// leaked one is recognisable.
const SigningSecretPrefix = "whsec_"

// IntegrationInput is an integration to save with the secret that comes
// with it.
type IntegrationInput struct {
	Integration models.Integration
	// BotToken is the Telegram bot token: required to create a Telegram
	// integration; on update nil keeps the stored one, anything else
	// replaces it (and clears what setup learned, since it names another bot).
	BotToken *string
}

// CreateIntegration validates and stores an integration. A Telegram
// integration needs its bot token, stored sealed; a webhook integration is
// given a new random signing secret, and a widget a new identity secret,
// returned once (signingSecret, "" for Telegram) and stored sealed. Errors: invalid (fields, an unknown bot),
// unavailable (encryption is not set up).
func (s *Store) CreateIntegration(ctx context.Context, in IntegrationInput) (_ *models.Integration, signingSecret string, err error) {
	it := in.Integration
	it.ID = models.NewID()
	normalizeIntegration(&it)
	it.Telegram.Username, it.Telegram.UserID, it.Telegram.WebhookURL, it.Telegram.SetupAt = "", 0, "", nil
	it.BotTokenEnc, it.SecretTokenEnc, it.SigningSecretEnc, it.PausedUntil, it.IdentitySecretEnc = nil, nil, nil, nil, nil
	if err := checkIntegration(&it, in.BotToken, true); err != nil {
		return nil, "", err
	}
	switch it.Type {
	case models.IntegrationTelegram:
		enc, err := s.seal(strings.TrimSpace(*in.BotToken))
		if err != nil {
			return nil, "", err
		}
		it.BotTokenEnc = &enc
	case models.IntegrationWebhook:
		signingSecret = models.NewToken(SigningSecretPrefix)
		enc, err := s.seal(signingSecret)
		if err != nil {
			return nil, "", err
		}
		it.SigningSecretEnc = &enc
	case models.IntegrationWidget:
		signingSecret = models.NewToken(models.IdentitySecretPrefix)
		enc, err := s.seal(signingSecret)
		if err != nil {
			return nil, "", err
		}
		it.IdentitySecretEnc = &enc
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkIDs(tx, &models.Bot{}, []string{*it.BotID}, "botId", "bot"); err != nil {
			return err
		}
		return translate(tx.Omit("Bot").Create(&it).Error, "integration")
	})
	if err != nil {
		return nil, "", err
	}
	return &it, signingSecret, nil
}

// UpdateIntegration validates and saves an integration's name, description,
// bot, meta, session duration and settings; its type cannot change. What
// setup learned from Telegram, its secrets and its pause are kept, except
// that a new bot token clears the setup (run it again). Errors: not_found,
// invalid, unavailable (a new token and no encryption).
func (s *Store) UpdateIntegration(ctx context.Context, in IntegrationInput) (*models.Integration, error) {
	it := in.Integration
	normalizeIntegration(&it)
	if err := checkIntegration(&it, in.BotToken, false); err != nil {
		return nil, err
	}
	var enc *string
	if in.BotToken != nil {
		sealed, err := s.seal(strings.TrimSpace(*in.BotToken))
		if err != nil {
			return nil, err
		}
		enc = &sealed
	}
	if !models.ValidID(it.ID) {
		return nil, notFound("integration")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Integration
		if err := s.lockRow(tx).First(&cur, "id = ?", it.ID).Error; err != nil {
			return translate(err, "integration")
		}
		if cur.Type != it.Type {
			return models.FieldError("type", "The type of an integration cannot change: create another one.")
		}
		if err := checkIDs(tx, &models.Bot{}, []string{*it.BotID}, "botId", "bot"); err != nil {
			return err
		}
		keep := it.Telegram
		it.Telegram = cur.Telegram
		it.Telegram.ContactCollection, it.Telegram.AllowFrom, it.Telegram.Stream, it.Telegram.Intro =
			keep.ContactCollection, keep.AllowFrom, keep.Stream, keep.Intro
		it.BotTokenEnc, it.SecretTokenEnc, it.SigningSecretEnc, it.PausedUntil = cur.BotTokenEnc, cur.SecretTokenEnc, cur.SigningSecretEnc, cur.PausedUntil
		it.IdentitySecretEnc = cur.IdentitySecretEnc
		if enc != nil && it.Type == models.IntegrationTelegram {
			it.BotTokenEnc, it.SecretTokenEnc = enc, nil
			it.Telegram.Username, it.Telegram.UserID, it.Telegram.WebhookURL, it.Telegram.SetupAt = "", 0, "", nil
		}
		it.CreatedAt = cur.CreatedAt
		return update(tx, &it, it.ID, "integration", "Bot")
	})
	if err != nil {
		return nil, err
	}
	return &it, nil
}

func normalizeIntegration(it *models.Integration) {
	it.Type = strings.TrimSpace(it.Type)
	it.Name = strings.TrimSpace(it.Name)
	it.Description = strings.TrimSpace(it.Description)
	it.Webhook.CallbackURL = strings.TrimSpace(it.Webhook.CallbackURL)
	it.Telegram.AllowFrom = strings.TrimSpace(it.Telegram.AllowFrom)
	if it.Meta == nil {
		it.Meta = models.Meta{}
	}
	if it.BotID != nil && *it.BotID == "" {
		it.BotID = nil
	}
	if it.Type == models.IntegrationWidget {
		models.NormalizeWidget(&it.Widget)
	} else {
		it.Widget = models.WidgetSettings{}
	}
}

// checkIntegration validates the integration and, for Telegram, its token
// (required when creating).
func checkIntegration(it *models.Integration, token *string, creating bool) error {
	fields := map[string]string{}
	for k, msg := range models.ErrorFields(it.Validate()) {
		fields[k] = msg
	}
	if it.Type == models.IntegrationTelegram {
		switch {
		case token == nil && creating:
			fields["botToken"] = "Bot token is required: BotFather gives it when you create the bot."
		case token == nil:
		case len(*token) > models.MaxBotTokenLength || !models.ValidBotToken(strings.TrimSpace(*token)):
			fields["botToken"] = "Bot token must look like 123456789:AA… as BotFather gives it."
		}
	} else if token != nil {
		fields["botToken"] = "Only a Telegram integration has a bot token."
	}
	if len(fields) == 0 {
		return nil
	}
	return &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: fields}
}

// RotateSigningSecret gives a webhook integration a new signing secret,
// returned once; the old one stops working at once. Errors: not_found,
// invalid (not a webhook integration), unavailable (no encryption).
func (s *Store) RotateSigningSecret(ctx context.Context, id string) (string, error) {
	return s.rotateSecret(ctx, id, models.IntegrationWebhook, SigningSecretPrefix, "signing_secret_enc",
		"Only a webhook integration has a signing secret.")
}

// rotateSecret makes a new secret with prefix for the integration id of type
// typ, stores it sealed in column and returns it once; an integration of
// another type is refused with the message notTyp.
func (s *Store) rotateSecret(ctx context.Context, id, typ, prefix, column, notTyp string) (string, error) {
	raw := models.NewToken(prefix)
	enc, err := s.seal(raw)
	if err != nil {
		return "", err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		it, err := findIntegrationTx(tx, id)
		if err != nil {
			return err
		}
		if it.Type != typ {
			return models.Errorf(models.CodeInvalid, "%s", notTyp)
		}
		return translate(tx.Model(&models.Integration{}).Where("id = ?", id).
			Updates(map[string]any{column: enc, "updated_at": s.now()}).Error, "integration")
	})
	if err != nil {
		return "", err
	}
	return raw, nil
}

func findIntegrationTx(tx *gorm.DB, id string) (*models.Integration, error) {
	if !models.ValidID(id) {
		return nil, notFound("integration")
	}
	var it models.Integration
	if err := tx.First(&it, "id = ?", id).Error; err != nil {
		return nil, translate(err, "integration")
	}
	return &it, nil
}

// FindIntegration returns one integration with its bot (its secrets stay sealed).
func (s *Store) FindIntegration(ctx context.Context, id string) (*models.Integration, error) {
	if !models.ValidID(id) {
		return nil, notFound("integration")
	}
	var it models.Integration
	if err := s.conn(ctx).Preload("Bot").First(&it, "id = ?", id).Error; err != nil {
		return nil, translate(err, "integration")
	}
	return &it, nil
}

// FindIntegrations lists integrations, newest first by default, one cursor
// page at a time, each with its bot's id and name.
func (s *Store) FindIntegrations(ctx context.Context, f models.IntegrationFilter) ([]models.Integration, string, error) {
	q := s.conn(ctx).Model(&models.Integration{}).Preload("Bot", func(db *gorm.DB) *gorm.DB {
		return db.Select("id", "name")
	})
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.BotID != "" {
		q = q.Where("bot_id = ?", f.BotID)
	}
	items, next, err := paginate(q, f.Page, "id", func(it *models.Integration) string { return it.ID })
	return items, next, translate(err, "integrations")
}

// DeleteIntegration deletes an integration with its threads, inbound events
// and deliveries; its conversations stay (without their channel).
func (s *Store) DeleteIntegration(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.Integration{}, id, "integration")
}

// IntegrationSecrets returns an integration's secrets in the clear, for the
// channel code that signs, checks and calls with them. Errors: not_found,
// unavailable (encryption not set up, or sealed with another key).
func (s *Store) IntegrationSecrets(ctx context.Context, id string) (models.IntegrationSecrets, error) {
	_, sec, err := s.FindIntegrationWithSecrets(ctx, id)
	return sec, err
}

// FindIntegrationWithSecrets returns an integration (without its bot) and
// its secrets in the clear, in one query: what authenticating a platform's
// request needs. Errors: as IntegrationSecrets.
func (s *Store) FindIntegrationWithSecrets(ctx context.Context, id string) (*models.Integration, models.IntegrationSecrets, error) {
	var out models.IntegrationSecrets
	if !models.ValidID(id) {
		return nil, out, notFound("integration")
	}
	var it models.Integration
	if err := s.conn(ctx).First(&it, "id = ?", id).Error; err != nil {
		return nil, out, translate(err, "integration")
	}
	for _, v := range []struct {
		enc  *string
		dst  *string
		what string
	}{{it.BotTokenEnc, &out.BotToken, "the bot token"}, {it.SecretTokenEnc, &out.SecretToken, "the webhook secret token"},
		{it.SigningSecretEnc, &out.SigningSecret, "the signing secret"}, {it.IdentitySecretEnc, &out.IdentitySecret, "the identity secret"}} {
		if v.enc == nil {
			continue
		}
		var err error
		if *v.dst, err = s.open(*v.enc, v.what); err != nil {
			return nil, models.IntegrationSecrets{}, err
		}
	}
	return &it, out, nil
}

// TelegramSetup is what setting a Telegram integration up learned and chose.
type TelegramSetup struct {
	Username   string
	UserID     int64
	WebhookURL string
	// SecretToken is the secret_token Telegram now sends with each update.
	SecretToken string
}

// SaveTelegramSetup stores what setup learned from Telegram (the bot's
// username and id) and the webhook it set, with its secret token sealed.
// Errors: not_found, invalid (not a Telegram integration), unavailable.
func (s *Store) SaveTelegramSetup(ctx context.Context, id string, setup TelegramSetup) (*models.Integration, error) {
	enc, err := s.seal(setup.SecretToken)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		it, err := findIntegrationTx(tx, id)
		if err != nil {
			return err
		}
		if it.Type != models.IntegrationTelegram {
			return models.Errorf(models.CodeInvalid, "Only a Telegram integration is set up with Telegram.")
		}
		now := s.now()
		return translate(tx.Model(&models.Integration{}).Where("id = ?", id).Updates(map[string]any{
			"telegram_username": setup.Username, "telegram_user_id": setup.UserID, "telegram_webhook_url": setup.WebhookURL,
			"telegram_setup_at": now, "secret_token_enc": enc, "updated_at": now,
		}).Error, "integration")
	})
	if err != nil {
		return nil, err
	}
	return s.FindIntegration(ctx, id)
}

// PauseIntegration holds every delivery of the integration until until (a
// platform's retry_after); an earlier pause never shortens a later one.
func (s *Store) PauseIntegration(ctx context.Context, id string, until time.Time) error {
	until = until.UTC().Truncate(time.Microsecond)
	res := s.conn(ctx).Model(&models.Integration{}).
		Where("id = ? AND (paused_until IS NULL OR paused_until < ?)", id, until).
		Update("paused_until", until)
	return translate(res.Error, "integration")
}
