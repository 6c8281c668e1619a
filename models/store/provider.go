package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// CreateProvider validates and stores a provider; apiKey ("" for none, as
// local servers such as Ollama need) is stored encrypted.
func (s *Store) CreateProvider(ctx context.Context, p models.Provider, apiKey string) (*models.Provider, error) {
	p.ID = models.NewID()
	normalizeProvider(&p)
	apiKey = strings.TrimSpace(apiKey)
	if err := checkProvider(&p, &apiKey); err != nil {
		return nil, err
	}
	p.APIKeyEnc = nil
	if apiKey != "" {
		enc, err := s.seal(apiKey)
		if err != nil {
			return nil, err
		}
		p.APIKeyEnc = &enc
	}
	if err := s.conn(ctx).Create(&p).Error; err != nil {
		return nil, providerNameTaken(err, p.Name)
	}
	return &p, nil
}

// UpdateProvider validates and saves every field of the provider. newKey nil
// keeps the stored API key; a pointer to "" removes it; anything else
// replaces it. Renaming a provider that bots use is refused, naming them: their
// model strings would stop resolving.
func (s *Store) UpdateProvider(ctx context.Context, p models.Provider, newKey *string) (*models.Provider, error) {
	normalizeProvider(&p)
	if newKey != nil {
		k := strings.TrimSpace(*newKey)
		newKey = &k
	}
	if err := checkProvider(&p, newKey); err != nil {
		return nil, err
	}
	var enc *string
	if newKey != nil && *newKey != "" {
		sealed, err := s.seal(*newKey)
		if err != nil {
			return nil, err
		}
		enc = &sealed
	}
	if !models.ValidID(p.ID) {
		return nil, notFound("provider")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Provider
		if err := s.lockRow(tx).First(&cur, "id = ?", p.ID).Error; err != nil {
			return translate(err, "provider")
		}
		if cur.Name != p.Name {
			bots, err := botsUsingProvider(tx, cur.Name)
			if err != nil {
				return err
			}
			if len(bots) > 0 {
				return models.FieldError("name", fmt.Sprintf("The name %q is used by %s in their model: change their model first, or keep the name.", cur.Name, botList(bots)))
			}
		}
		p.CreatedAt = cur.CreatedAt
		switch {
		case newKey == nil:
			p.APIKeyEnc = cur.APIKeyEnc
		case *newKey == "":
			p.APIKeyEnc = nil
		default:
			p.APIKeyEnc = enc
		}
		if err := update(tx, &p, p.ID, "provider"); err != nil {
			return providerNameTaken(err, p.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func normalizeProvider(p *models.Provider) {
	p.Name = strings.ToLower(strings.TrimSpace(p.Name))
	p.Kind = strings.TrimSpace(p.Kind)
	if p.Kind == "" {
		p.Kind = models.ProviderKindOpenAI
	}
	p.BaseURL = strings.TrimRight(strings.TrimSpace(p.BaseURL), "/")
	p.DefaultModel = strings.TrimSpace(p.DefaultModel)
}

// checkProvider validates the provider and, when given, a new API key.
func checkProvider(p *models.Provider, key *string) error {
	fields := map[string]string{}
	for k, msg := range models.ErrorFields(p.Validate()) {
		fields[k] = msg
	}
	if key != nil {
		switch {
		case len(*key) > models.MaxAPIKeyLength:
			fields["apiKey"] = fmt.Sprintf("API key must be at most %d characters.", models.MaxAPIKeyLength)
		case strings.ContainsAny(*key, " \t\r\n"):
			fields["apiKey"] = "API key must not contain spaces or line breaks."
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: fields}
}

// providerNameTaken turns a unique violation into an error next to the name field.
func providerNameTaken(err error, name string) error {
	err = translate(err, "provider")
	if models.ErrorCode(err) == models.CodeConflict {
		return models.FieldError("name", fmt.Sprintf("A provider named %q already exists.", name))
	}
	return err
}

// FindProvider returns one provider (its key stays encrypted).
func (s *Store) FindProvider(ctx context.Context, id string) (*models.Provider, error) {
	if !models.ValidID(id) {
		return nil, notFound("provider")
	}
	var p models.Provider
	if err := s.conn(ctx).First(&p, "id = ?", id).Error; err != nil {
		return nil, translate(err, "provider")
	}
	return &p, nil
}

// FindProviderByName returns the provider a model string names (names are
// lower-case; the lookup ignores case).
func (s *Store) FindProviderByName(ctx context.Context, name string) (*models.Provider, error) {
	var p models.Provider
	err := s.conn(ctx).Where("name = ?", strings.ToLower(strings.TrimSpace(name))).Take(&p).Error
	if err != nil {
		return nil, translate(err, "provider")
	}
	return &p, nil
}

// FindProviders lists providers, newest first by default, one cursor page at a time.
func (s *Store) FindProviders(ctx context.Context, p models.Page) ([]models.Provider, string, error) {
	items, next, err := paginate(s.conn(ctx).Model(&models.Provider{}), p, "id",
		func(p *models.Provider) string { return p.ID })
	return items, next, translate(err, "providers")
}

// BotsUsingProvider names the bots whose model names the provider
// ("<name>" or "<name>/<model>").
func (s *Store) BotsUsingProvider(ctx context.Context, name string) ([]models.BotRef, error) {
	return botsUsingProvider(s.conn(ctx), name)
}

func botsUsingProvider(tx *gorm.DB, name string) ([]models.BotRef, error) {
	name = strings.ToLower(name)
	var refs []models.BotRef
	// Provider names hold only [a-z0-9-]: nothing LIKE would read as a wildcard.
	err := tx.Model(&models.Bot{}).Select("id, name").
		Where("LOWER(model) = ? OR LOWER(model) LIKE ?", name, name+"/%").
		Order("name").Limit(maxUsedBy).Scan(&refs).Error
	return refs, translate(err, "bots")
}

// botList names bots for a message: `bot "A"`, `bots "A", "B" and 3 more`.
func botList(bots []models.BotRef) string {
	const shown = 5
	names := make([]string, 0, shown)
	for i, b := range bots {
		if i == shown {
			break
		}
		names = append(names, fmt.Sprintf("%q", b.Name))
	}
	if len(bots) == 1 {
		return "bot " + names[0]
	}
	out := "bots " + strings.Join(names, ", ")
	if len(bots) > shown {
		out += fmt.Sprintf(" and %d more", len(bots)-shown)
	}
	return out
}

// DeleteProvider deletes a provider, unless a bot's model names it: then it
// is a conflict naming the bots, and nothing is deleted.
func (s *Store) DeleteProvider(ctx context.Context, id string) error {
	if !models.ValidID(id) {
		return notFound("provider")
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var p models.Provider
		if err := s.lockRow(tx).Select("id", "name").First(&p, "id = ?", id).Error; err != nil {
			return translate(err, "provider")
		}
		bots, err := botsUsingProvider(tx, p.Name)
		if err != nil {
			return err
		}
		if len(bots) > 0 {
			return models.Errorf(models.CodeConflict, "Provider %q cannot be deleted: it is used by %s in their model. Change their model first.", p.Name, botList(bots))
		}
		var datasets []string
		if err := tx.Model(&models.Dataset{}).Where("embed_provider_id = ? OR rerank_provider_id = ?", id, id).
			Order("name").Limit(5).Pluck("name", &datasets).Error; err != nil {
			return translate(err, "datasets")
		}
		if len(datasets) > 0 {
			return models.Errorf(models.CodeConflict, "Provider %q cannot be deleted: the dataset(s) %s search with its models. Change their semantic search settings first.", p.Name, strings.Join(datasets, ", "))
		}
		res := tx.Delete(&models.Provider{}, "id = ?", id)
		if res.Error != nil {
			return translate(res.Error, "provider")
		}
		if res.RowsAffected == 0 {
			return notFound("provider")
		}
		return nil
	})
}

// ProviderKey returns a provider's decrypted API key ("" when none is set),
// for building its client; it is never rendered.
func (s *Store) ProviderKey(ctx context.Context, id string) (string, error) {
	p, err := s.FindProvider(ctx, id)
	if err != nil {
		return "", err
	}
	return s.DecryptProviderKey(p)
}

// DecryptProviderKey decrypts the key of a provider already read, sparing
// ProviderKey's query ("" when none is set).
func (s *Store) DecryptProviderKey(p *models.Provider) (string, error) {
	if !p.HasKey() {
		return "", nil
	}
	return s.open(*p.APIKeyEnc, fmt.Sprintf("the API key of provider %q", p.Name))
}

// lockRow takes a row lock on PostgreSQL (SQLite transactions are already exclusive).
func (s *Store) lockRow(tx *gorm.DB) *gorm.DB {
	if s.dialect == Postgres {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}
