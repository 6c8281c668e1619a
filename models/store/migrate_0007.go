package store

import (
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// Migration 7 adds bot versions: immutable, numbered snapshots of what
// decides a bot's answers (backstory, model, flags, attached datasets with
// their retrieval settings, attached skillsets with their abilities), with
// who made each and when. Every existing bot gets version 1 from its current
// state, made by the system. Frozen copies of the structs (and of the
// snapshot's JSON shape) as of migration 7. Do not edit: add a migration.

type m7BotVersion struct {
	ID            string    `gorm:"primaryKey;size:36"`
	BotID         string    `gorm:"size:36;not null;uniqueIndex:idx_bot_versions_number,priority:1"`
	Number        int       `gorm:"not null;uniqueIndex:idx_bot_versions_number,priority:2"`
	Snapshot      string    `gorm:"type:text;not null"`
	CreatedByKind string    `gorm:"size:20;not null"`
	CreatedByID   string    `gorm:"size:100;not null"`
	CreatedByName string    `gorm:"size:254;not null"`
	CreatedAt     time.Time `gorm:"not null"`
	Note          string    `gorm:"size:500;not null"`
	Bot           m1Bot     `gorm:"foreignKey:BotID;constraint:OnDelete:CASCADE"`
}

func (m7BotVersion) TableName() string { return "bot_versions" }

type m7Snapshot struct {
	Backstory  string       `json:"backstory"`
	Model      string       `json:"model"`
	Privacy    bool         `json:"privacy"`
	Moderation bool         `json:"moderation"`
	Datasets   []m7Dataset  `json:"datasets"`
	Skillsets  []m7Skillset `json:"skillsets"`
}

type m7Dataset struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	SearchMaxRecords    int     `json:"searchMaxRecords"`
	SearchMinScore      float64 `json:"searchMinScore"`
	RecordMaxTokens     int     `json:"recordMaxTokens"`
	MatchInstruction    string  `json:"matchInstruction"`
	MismatchInstruction string  `json:"mismatchInstruction"`
}

type m7Skillset struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Abilities []m7Ability `json:"abilities"`
}

type m7Ability struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Instruction string      `json:"instruction"`
	Meta        models.Meta `json:"meta"`
}

// m7Limit bounds the attachments and abilities in a snapshot, as the live
// code does (a bot uses at most 50 of each; a turn is offered 50 abilities).
const m7Limit = 50

func migrate0007(tx *gorm.DB) error {
	if err := tx.Migrator().CreateTable(&m7BotVersion{}); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	const batch = 200
	after := ""
	for {
		var bots []m1Bot
		q := tx.Order("id").Limit(batch)
		if after != "" {
			q = q.Where("id > ?", after)
		}
		if err := q.Find(&bots).Error; err != nil {
			return err
		}
		for _, b := range bots {
			after = b.ID
			snap, err := m7SnapshotOf(tx, b)
			if err != nil {
				return err
			}
			js, err := json.Marshal(snap)
			if err != nil {
				return err
			}
			v := m7BotVersion{ID: models.NewID(), BotID: b.ID, Number: 1, Snapshot: string(js),
				CreatedByKind: "system", CreatedByName: "system", CreatedAt: now,
				Note: "Recorded when Parley began keeping versions"}
			if err := tx.Omit("Bot").Create(&v).Error; err != nil {
				return err
			}
		}
		if len(bots) < batch {
			return nil
		}
	}
}

// m7SnapshotOf reads a bot's current configuration as a snapshot.
func m7SnapshotOf(tx *gorm.DB, b m1Bot) (m7Snapshot, error) {
	snap := m7Snapshot{Backstory: b.Backstory, Model: b.Model, Privacy: b.Privacy, Moderation: b.Moderation}
	var ds []m1Dataset
	err := tx.Model(&m1Dataset{}).Select("datasets.*").Joins("JOIN bot_datasets j ON j.dataset_id = datasets.id").
		Where("j.bot_id = ?", b.ID).Order("datasets.id").Limit(m7Limit).Find(&ds).Error
	if err != nil {
		return snap, err
	}
	for _, d := range ds {
		snap.Datasets = append(snap.Datasets, m7Dataset{ID: d.ID, Name: d.Name, SearchMaxRecords: d.SearchMaxRecords,
			SearchMinScore: d.SearchMinScore, RecordMaxTokens: d.RecordMaxTokens,
			MatchInstruction: d.MatchInstruction, MismatchInstruction: d.MismatchInstruction})
	}
	var ks []m1Skillset
	err = tx.Model(&m1Skillset{}).Select("skillsets.*").Joins("JOIN bot_skillsets j ON j.skillset_id = skillsets.id").
		Where("j.bot_id = ?", b.ID).Order("skillsets.id").Limit(m7Limit).Find(&ks).Error
	if err != nil {
		return snap, err
	}
	for _, k := range ks {
		var abs []m1Ability
		if err := tx.Omit("Skillset").Where("skillset_id = ?", k.ID).Order("id").Limit(m7Limit).Find(&abs).Error; err != nil {
			return snap, err
		}
		sk := m7Skillset{ID: k.ID, Name: k.Name}
		for _, a := range abs {
			sk.Abilities = append(sk.Abilities, m7Ability{ID: a.ID, Name: a.Name, Description: a.Description,
				Instruction: a.Instruction, Meta: a.Meta})
		}
		snap.Skillsets = append(snap.Skillsets, sk)
	}
	return snap, nil
}
