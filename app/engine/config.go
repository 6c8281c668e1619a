package engine

import (
	"context"
	"sync"

	"parley/models"
	"parley/models/store"
)

// config is what answers a conversation: its bot's settings as of the bot's
// latest version, or the conversation's inline ones.
type config struct {
	botID string
	// versionID and version are the bot version the settings are read from.
	versionID string
	version   int
	backstory string
	model     string
	// moderation screens the user's message before the model is called.
	moderation bool
	// datasets are searched with their retrieval settings; abilities are
	// those of the attached skillsets, at most maxAbilities each.
	datasets  []models.DatasetSnapshot
	abilities []models.Ability
	// loaded keeps the abilities' runners of a bot version (which never
	// changes), made by the first turn that needs them; nil for a
	// configuration read from live rows, loaded at every turn.
	loaded *loadedAbilities
}

// loadedAbilities are a version's abilities made into runners once.
type loadedAbilities struct {
	once    sync.Once
	runners []Runner
	notes   []string
}

// maxCachedConfigs bounds the configurations kept by version.
const maxCachedConfigs = 1000

// turnStart is what a turn answered by cfg is started with.
func (cfg config) turnStart() store.TurnStart {
	start := store.TurnStart{BotVersion: cfg.version}
	if cfg.botID != "" {
		start.BotID = &cfg.botID
		if cfg.versionID != "" {
			start.BotVersionID = &cfg.versionID
		}
	}
	return start
}

// configCache keeps the configuration of bot versions by version id:
// versions never change, so an entry never goes stale, and a turn reads its
// bot's configuration with one query (which version is the latest) instead
// of reading the bot, its attachments, datasets and abilities again.
type configCache struct {
	mu sync.Mutex
	m  map[string]config
}

func (c *configCache) get(id string) (config, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, ok := c.m[id]
	return cfg, ok
}

func (c *configCache) put(id string, cfg config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedConfigs {
		c.m = map[string]config{}
	}
	c.m[id] = cfg
}

// configOf returns what answers conv now: its pinned configuration when it
// has one (QA's scratch conversations answer with a chosen version or a
// draft), else its bot's latest version, else its inline settings.
func (e *Engine) configOf(ctx context.Context, conv *models.Conversation) (config, error) {
	if p := conv.Pinned; p != nil {
		return snapshotConfig(models.Deref(conv.BotID), &models.BotVersion{ID: p.VersionID, Number: p.Version, Snapshot: p.Snapshot}), nil
	}
	if conv.Bot != nil {
		if id := conv.Bot.VersionID; id != nil {
			if cfg, ok := e.configs.get(*id); ok {
				return cfg, nil // the row read with the conversation names its version
			}
		}
		return e.botConfig(ctx, conv.Bot.ID)
	}
	return e.inlineConfig(ctx, conv)
}

// botConfig reads a bot's configuration from its latest version.
func (e *Engine) botConfig(ctx context.Context, botID string) (config, error) {
	st := e.opts.Store
	latest, err := st.LatestBotVersion(ctx, botID)
	if err != nil {
		return config{}, err
	}
	if latest == nil {
		return e.liveBotConfig(ctx, botID) // a bot without versions: its live settings
	}
	if cfg, ok := e.configs.get(latest.ID); ok {
		return cfg, nil
	}
	v, err := st.FindBotVersion(ctx, botID, latest.Number)
	if err != nil {
		return config{}, err
	}
	cfg := snapshotConfig(botID, v)
	e.configs.put(v.ID, cfg)
	return cfg, nil
}

// snapshotConfig is the configuration a bot version's snapshot describes.
func snapshotConfig(botID string, v *models.BotVersion) config {
	sn := v.Snapshot
	cfg := config{botID: botID, versionID: v.ID, version: v.Number, backstory: sn.Backstory, model: sn.Model,
		moderation: sn.Moderation, datasets: sn.Datasets, loaded: &loadedAbilities{}}
	for _, k := range sn.Skillsets {
		for i, a := range k.Abilities {
			if i == maxAbilities {
				break
			}
			cfg.abilities = append(cfg.abilities, models.Ability{ID: a.ID, SkillsetID: k.ID, Name: a.Name,
				Description: a.Description, Instruction: a.Instruction, Meta: a.Meta})
		}
	}
	return cfg
}

// liveBotConfig reads a bot's configuration from its current rows.
func (e *Engine) liveBotConfig(ctx context.Context, botID string) (config, error) {
	bot, err := e.opts.Store.FindBot(ctx, botID)
	if err != nil {
		return config{}, err
	}
	cfg := config{botID: bot.ID, backstory: bot.Backstory, model: bot.Model, moderation: bot.Moderation}
	var dsIDs, ksIDs []string
	for _, d := range bot.Datasets {
		dsIDs = append(dsIDs, d.ID)
	}
	for _, k := range bot.Skillsets {
		ksIDs = append(ksIDs, k.ID)
	}
	return e.attach(ctx, cfg, dsIDs, ksIDs)
}

// inlineConfig is the configuration of a conversation without a bot.
func (e *Engine) inlineConfig(ctx context.Context, conv *models.Conversation) (config, error) {
	cfg := config{backstory: conv.Backstory, model: conv.Model, moderation: conv.Moderation}
	var dsIDs, ksIDs []string
	if conv.DatasetID != nil {
		dsIDs = []string{*conv.DatasetID}
	}
	if conv.SkillsetID != nil {
		ksIDs = []string{*conv.SkillsetID}
	}
	return e.attach(ctx, cfg, dsIDs, ksIDs)
}

// attach reads the retrieval settings of datasets and the abilities of
// skillsets into cfg; ones deleted meanwhile are skipped.
func (e *Engine) attach(ctx context.Context, cfg config, datasetIDs, skillsetIDs []string) (config, error) {
	st := e.opts.Store
	for _, id := range datasetIDs {
		d, err := st.FindDataset(ctx, id)
		if models.ErrorCode(err) == models.CodeNotFound {
			continue
		}
		if err != nil {
			return config{}, err
		}
		cfg.datasets = append(cfg.datasets, models.DatasetSnapshot{ID: d.ID, Name: d.Name, SearchMaxRecords: d.SearchMaxRecords,
			SearchMinScore: d.SearchMinScore, RecordMaxTokens: d.RecordMaxTokens, MatchInstruction: d.MatchInstruction,
			MismatchInstruction: d.MismatchInstruction})
	}
	for _, id := range skillsetIDs {
		abs, _, err := st.FindAbilities(ctx, id, models.Page{Limit: maxAbilities, Order: models.OrderAsc})
		if err != nil {
			return config{}, err
		}
		cfg.abilities = append(cfg.abilities, abs...)
	}
	return cfg, nil
}
