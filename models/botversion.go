package models

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// BotVersion is an immutable snapshot of everything that decides a bot's
// answers, made by the store in the same transaction as every change to it:
// numbered 1, 2, 3… per bot, with who made it, when and an optional note.
// Each answer names the version that produced it (Turn.BotVersion).
type BotVersion struct {
	ID       string      `json:"id" gorm:"primaryKey;size:36"`
	BotID    string      `json:"botId" gorm:"size:36;not null"`
	Number   int         `json:"number" gorm:"not null"`
	Snapshot BotSnapshot `json:"snapshot" gorm:"type:text;not null;serializer:json"`
	// CreatedBy* are the actor who made the change (see Actor).
	CreatedByKind string    `json:"createdByKind" gorm:"size:20;not null"`
	CreatedByID   string    `json:"createdById" gorm:"size:100;not null"`
	CreatedByName string    `json:"createdByName" gorm:"size:254;not null"`
	CreatedAt     time.Time `json:"createdAt"`
	Note          string    `json:"note" gorm:"size:500;not null"`
}

// BotSnapshot is what decides a bot's answer as of one version: backstory,
// model, flags, the attached datasets with their retrieval settings and the
// attached skillsets with their abilities. Dataset records are not in it:
// they change all the time and are not versioned.
type BotSnapshot struct {
	Backstory  string             `json:"backstory"`
	Model      string             `json:"model"`
	Privacy    bool               `json:"privacy"`
	Moderation bool               `json:"moderation"`
	Datasets   []DatasetSnapshot  `json:"datasets"`
	Skillsets  []SkillsetSnapshot `json:"skillsets"`
}

// DatasetSnapshot is an attached dataset's retrieval settings. Name is kept
// to show it (even once the dataset is gone) but does not decide an answer,
// so renaming a dataset makes no version.
type DatasetSnapshot struct {
	ID                  string  `json:"id"`
	Name                string  `json:"name"`
	SearchMaxRecords    int     `json:"searchMaxRecords"`
	SearchMinScore      float64 `json:"searchMinScore"`
	RecordMaxTokens     int     `json:"recordMaxTokens"`
	MatchInstruction    string  `json:"matchInstruction"`
	MismatchInstruction string  `json:"mismatchInstruction"`
}

// SkillsetSnapshot is an attached skillset's abilities (Name, like a
// dataset's, is only shown).
type SkillsetSnapshot struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Abilities []AbilitySnapshot `json:"abilities"`
}

// AbilitySnapshot is what of an ability reaches the model: its name (the
// tool's name), when to use it, its instruction and its meta (its action).
type AbilitySnapshot struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Instruction string `json:"instruction"`
	Meta        Meta   `json:"meta"`
}

// Equal reports whether two snapshots answer alike: the same in everything
// but the names of datasets and skillsets.
func (s BotSnapshot) Equal(o BotSnapshot) bool { return s.canonical() == o.canonical() }

// canonical is the snapshot's JSON without what Equal ignores (maps encode
// with sorted keys, so equal snapshots encode alike).
func (s BotSnapshot) canonical() string {
	c := BotSnapshot{Backstory: s.Backstory, Model: s.Model, Privacy: s.Privacy, Moderation: s.Moderation}
	for _, d := range s.Datasets {
		d.Name = ""
		c.Datasets = append(c.Datasets, d)
	}
	for _, k := range s.Skillsets {
		ck := SkillsetSnapshot{ID: k.ID}
		for _, a := range k.Abilities {
			if len(a.Meta) == 0 {
				a.Meta = nil
			}
			ck.Abilities = append(ck.Abilities, a)
		}
		c.Skillsets = append(c.Skillsets, ck)
	}
	b, _ := json.Marshal(c) // plain values: cannot fail
	return string(b)
}

// FieldChange is one setting that differs between two versions, as text.
type FieldChange struct {
	Field string // a label such as "min score"
	From  string
	To    string
}

// DatasetChange is a dataset attached in both versions whose settings differ.
type DatasetChange struct {
	From, To DatasetSnapshot
	Fields   []FieldChange
}

// AbilityChange is an ability in both versions whose contents differ.
type AbilityChange struct {
	From, To AbilitySnapshot
	Fields   []FieldChange
}

// SkillsetChange is a skillset attached in both versions whose abilities differ.
type SkillsetChange struct {
	From, To         SkillsetSnapshot
	AbilitiesAdded   []AbilitySnapshot
	AbilitiesRemoved []AbilitySnapshot
	AbilitiesChanged []AbilityChange
}

// VersionDiff is what changed from one snapshot (From) to another (To).
type VersionDiff struct {
	From, To         BotSnapshot
	BackstoryChanged bool
	// Fields are the model and the flags that differ.
	Fields           []FieldChange
	DatasetsAdded    []DatasetSnapshot
	DatasetsRemoved  []DatasetSnapshot
	DatasetsChanged  []DatasetChange
	SkillsetsAdded   []SkillsetSnapshot
	SkillsetsRemoved []SkillsetSnapshot
	SkillsetsChanged []SkillsetChange
}

// DiffSnapshots compares two snapshots; datasets, skillsets and abilities are
// matched by id.
func DiffSnapshots(from, to BotSnapshot) VersionDiff {
	d := VersionDiff{From: from, To: to, BackstoryChanged: from.Backstory != to.Backstory}
	d.Fields = changed(nil, "model", from.Model, to.Model)
	d.Fields = changed(d.Fields, "privacy", onOff(from.Privacy), onOff(to.Privacy))
	d.Fields = changed(d.Fields, "moderation", onOff(from.Moderation), onOff(to.Moderation))

	oldDS := map[string]DatasetSnapshot{}
	for _, x := range from.Datasets {
		oldDS[x.ID] = x
	}
	newDS := map[string]bool{}
	for _, x := range to.Datasets {
		newDS[x.ID] = true
		prev, ok := oldDS[x.ID]
		if !ok {
			d.DatasetsAdded = append(d.DatasetsAdded, x)
			continue
		}
		if fs := datasetFields(prev, x); len(fs) > 0 {
			d.DatasetsChanged = append(d.DatasetsChanged, DatasetChange{From: prev, To: x, Fields: fs})
		}
	}
	for _, x := range from.Datasets {
		if !newDS[x.ID] {
			d.DatasetsRemoved = append(d.DatasetsRemoved, x)
		}
	}

	oldKS := map[string]SkillsetSnapshot{}
	for _, x := range from.Skillsets {
		oldKS[x.ID] = x
	}
	newKS := map[string]bool{}
	for _, x := range to.Skillsets {
		newKS[x.ID] = true
		prev, ok := oldKS[x.ID]
		if !ok {
			d.SkillsetsAdded = append(d.SkillsetsAdded, x)
			continue
		}
		if c := diffAbilities(prev, x); len(c.AbilitiesAdded)+len(c.AbilitiesRemoved)+len(c.AbilitiesChanged) > 0 {
			d.SkillsetsChanged = append(d.SkillsetsChanged, c)
		}
	}
	for _, x := range from.Skillsets {
		if !newKS[x.ID] {
			d.SkillsetsRemoved = append(d.SkillsetsRemoved, x)
		}
	}
	return d
}

func changed(fs []FieldChange, field, from, to string) []FieldChange {
	if from == to {
		return fs
	}
	return append(fs, FieldChange{Field: field, From: from, To: to})
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func datasetFields(a, b DatasetSnapshot) []FieldChange {
	fs := changed(nil, "records to retrieve", strconv.Itoa(a.SearchMaxRecords), strconv.Itoa(b.SearchMaxRecords))
	fs = changed(fs, "min score", strconv.FormatFloat(a.SearchMinScore, 'g', -1, 64), strconv.FormatFloat(b.SearchMinScore, 'g', -1, 64))
	fs = changed(fs, "max record tokens", strconv.Itoa(a.RecordMaxTokens), strconv.Itoa(b.RecordMaxTokens))
	fs = changed(fs, "match instruction", a.MatchInstruction, b.MatchInstruction)
	return changed(fs, "mismatch instruction", a.MismatchInstruction, b.MismatchInstruction)
}

func diffAbilities(from, to SkillsetSnapshot) SkillsetChange {
	c := SkillsetChange{From: from, To: to}
	old := map[string]AbilitySnapshot{}
	for _, a := range from.Abilities {
		old[a.ID] = a
	}
	seen := map[string]bool{}
	for _, a := range to.Abilities {
		seen[a.ID] = true
		prev, ok := old[a.ID]
		if !ok {
			c.AbilitiesAdded = append(c.AbilitiesAdded, a)
			continue
		}
		fs := changed(nil, "name", prev.Name, a.Name)
		fs = changed(fs, "description", prev.Description, a.Description)
		fs = changed(fs, "instruction", prev.Instruction, a.Instruction)
		fs = changed(fs, "meta", metaText(prev.Meta), metaText(a.Meta))
		if len(fs) > 0 {
			c.AbilitiesChanged = append(c.AbilitiesChanged, AbilityChange{From: prev, To: a, Fields: fs})
		}
	}
	for _, a := range from.Abilities {
		if !seen[a.ID] {
			c.AbilitiesRemoved = append(c.AbilitiesRemoved, a)
		}
	}
	return c
}

func metaText(m Meta) string {
	if len(m) == 0 {
		return ""
	}
	return m.String()
}

// Empty reports whether the two snapshots answer alike.
func (d VersionDiff) Empty() bool { return d.From.Equal(d.To) }

// BackstoryLines is the backstory's line and word diff.
func (d VersionDiff) BackstoryLines() []DiffLine { return DiffText(d.From.Backstory, d.To.Backstory) }

// Summary says in short phrases what changed, for a list of versions.
func (d VersionDiff) Summary() []string {
	var out []string
	if d.BackstoryChanged {
		out = append(out, "backstory edited")
	}
	for _, f := range d.Fields {
		if f.Field == "model" {
			out = append(out, fmt.Sprintf("model %s → %s", orDefault(f.From), orDefault(f.To)))
			continue
		}
		out = append(out, f.Field+" "+f.To)
	}
	for _, x := range d.DatasetsAdded {
		out = append(out, fmt.Sprintf("dataset %q attached", x.Name))
	}
	for _, x := range d.DatasetsRemoved {
		out = append(out, fmt.Sprintf("dataset %q detached", x.Name))
	}
	for _, x := range d.DatasetsChanged {
		out = append(out, fmt.Sprintf("dataset %q: %s", x.To.Name, fieldList(x.Fields)))
	}
	for _, x := range d.SkillsetsAdded {
		out = append(out, fmt.Sprintf("skillset %q attached", x.Name))
	}
	for _, x := range d.SkillsetsRemoved {
		out = append(out, fmt.Sprintf("skillset %q detached", x.Name))
	}
	for _, x := range d.SkillsetsChanged {
		for _, a := range x.AbilitiesAdded {
			out = append(out, fmt.Sprintf("ability %q added to %q", a.Name, x.To.Name))
		}
		for _, a := range x.AbilitiesRemoved {
			out = append(out, fmt.Sprintf("ability %q removed from %q", a.Name, x.To.Name))
		}
		for _, a := range x.AbilitiesChanged {
			out = append(out, fmt.Sprintf("ability %q of %q: %s", a.To.Name, x.To.Name, fieldList(a.Fields)))
		}
	}
	return out
}

// fieldList names the changed fields: numbers with their old and new values,
// texts by name only.
func fieldList(fs []FieldChange) string {
	var s string
	for i, f := range fs {
		if i > 0 {
			s += ", "
		}
		switch f.Field {
		case "records to retrieve", "min score", "max record tokens":
			s += fmt.Sprintf("%s %s → %s", f.Field, f.From, f.To)
		default:
			s += f.Field
		}
	}
	return s
}

func orDefault(model string) string {
	if model == "" {
		return "default"
	}
	return model
}
