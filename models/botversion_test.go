package models_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
)

func baseSnapshot() models.BotSnapshot {
	return models.BotSnapshot{
		Backstory: "You are helpful.", Model: "local",
		Datasets: []models.DatasetSnapshot{
			{ID: "d1", Name: "FAQ", SearchMaxRecords: 3, SearchMinScore: 0.2, RecordMaxTokens: 1000},
			{ID: "d2", Name: "Manual", SearchMaxRecords: 3},
		},
		Skillsets: []models.SkillsetSnapshot{{ID: "k1", Name: "Tools", Abilities: []models.AbilitySnapshot{
			{ID: "a1", Name: "clock", Description: "Tells the time", Meta: models.Meta{"action": "clock"}},
			{ID: "a2", Name: "calc", Instruction: "Add numbers"},
		}}},
	}
}

func TestBotSnapshotEqual(t *testing.T) {
	tests := []struct {
		name   string
		change func(*models.BotSnapshot)
		equal  bool
	}{
		{"Same", func(*models.BotSnapshot) {}, true},
		{"DatasetRenamed", func(s *models.BotSnapshot) { s.Datasets[0].Name = "Questions" }, true},
		{"SkillsetRenamed", func(s *models.BotSnapshot) { s.Skillsets[0].Name = "Kit" }, true},
		{"EmptyMetaIsNoMeta", func(s *models.BotSnapshot) { s.Skillsets[0].Abilities[1].Meta = models.Meta{} }, true},
		{"Backstory", func(s *models.BotSnapshot) { s.Backstory += "!" }, false},
		{"Model", func(s *models.BotSnapshot) { s.Model = "openai/gpt-4o-mini" }, false},
		{"Privacy", func(s *models.BotSnapshot) { s.Privacy = true }, false},
		{"Moderation", func(s *models.BotSnapshot) { s.Moderation = true }, false},
		{"MinScore", func(s *models.BotSnapshot) { s.Datasets[0].SearchMinScore = 0.3 }, false},
		{"MismatchInstruction", func(s *models.BotSnapshot) { s.Datasets[1].MismatchInstruction = "Say you do not know." }, false},
		{"DatasetDetached", func(s *models.BotSnapshot) { s.Datasets = s.Datasets[:1] }, false},
		{"AbilityMeta", func(s *models.BotSnapshot) { s.Skillsets[0].Abilities[0].Meta = models.Meta{"action": "fetch"} }, false},
		{"AbilityName", func(s *models.BotSnapshot) { s.Skillsets[0].Abilities[1].Name = "calculator" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := baseSnapshot(), baseSnapshot()
			tt.change(&b)
			if got := a.Equal(b); got != tt.equal {
				t.Errorf("Equal = %v, want %v", got, tt.equal)
			}
			if got := models.DiffSnapshots(a, b).Empty(); got != tt.equal {
				t.Errorf("DiffSnapshots(…).Empty() = %v, want %v", got, tt.equal)
			}
		})
	}
}

func TestDiffSnapshots(t *testing.T) {
	from := baseSnapshot()
	to := baseSnapshot()
	to.Backstory = "You are terse."
	to.Model = "openai/gpt-4o-mini"
	to.Privacy = true
	to.Datasets[0].SearchMinScore = 0.5
	to.Datasets[0].MatchInstruction = "Cite the record."
	to.Datasets = append(to.Datasets[:1], models.DatasetSnapshot{ID: "d3", Name: "Pricing"})
	to.Skillsets[0].Abilities = []models.AbilitySnapshot{
		{ID: "a1", Name: "clock", Description: "Tells the time in UTC", Meta: models.Meta{"action": "clock"}},
		{ID: "a3", Name: "weather"},
	}
	to.Skillsets = append(to.Skillsets, models.SkillsetSnapshot{ID: "k2", Name: "Web"})

	d := models.DiffSnapshots(from, to)
	if !d.BackstoryChanged {
		t.Error("BackstoryChanged = false")
	}
	want := []string{
		"backstory edited",
		"model local → openai/gpt-4o-mini",
		"privacy on",
		`dataset "Pricing" attached`,
		`dataset "Manual" detached`,
		`dataset "FAQ": min score 0.2 → 0.5, match instruction`,
		`skillset "Web" attached`,
		`ability "weather" added to "Tools"`,
		`ability "calc" removed from "Tools"`,
		`ability "clock" of "Tools": description`,
	}
	if diff := cmp.Diff(want, d.Summary()); diff != "" {
		t.Errorf("Summary (-want +got):\n%s", diff)
	}
	if got := len(d.BackstoryLines()); got != 2 {
		t.Errorf("BackstoryLines has %d lines, want 2 (one removed, one added)", got)
	}
	if got := models.DiffSnapshots(to, to).Summary(); len(got) != 0 {
		t.Errorf("Summary of equal snapshots = %v, want none", got)
	}
}
