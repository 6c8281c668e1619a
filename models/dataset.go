package models

import "time"

// Dataset is a named collection of records a bot retrieves from while answering,
// with the settings that govern retrieval.
type Dataset struct {
	ID                  string    `json:"id" gorm:"primaryKey;size:36"`
	Alias               *string   `json:"alias,omitempty" gorm:"size:100;uniqueIndex" validate:"omitempty,max=100"`
	Name                string    `json:"name" gorm:"size:200;not null" validate:"max=200"`
	Description         string    `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Meta                Meta      `json:"meta"`
	Store               string    `json:"store" gorm:"size:100;not null" validate:"max=100"`
	Reranker            string    `json:"reranker" gorm:"size:100;not null" validate:"max=100"`
	RecordMaxTokens     int       `json:"recordMaxTokens" gorm:"not null" validate:"min=0,max=32000"`
	SearchMinScore      float64   `json:"searchMinScore" gorm:"not null" validate:"min=0,max=1"`
	SearchMaxRecords    int       `json:"searchMaxRecords" gorm:"not null" validate:"min=0,max=100"`
	SearchMaxTokens     int       `json:"searchMaxTokens" gorm:"not null" validate:"min=0,max=128000"`
	MatchInstruction    string    `json:"matchInstruction" gorm:"type:text;not null" validate:"max=4000"`
	MismatchInstruction string    `json:"mismatchInstruction" gorm:"type:text;not null" validate:"max=4000"`
	Separators          string    `json:"separators" gorm:"size:200;not null" validate:"max=200"`
	Visibility          string    `json:"visibility" gorm:"size:20;not null" validate:"omitempty,oneof=private protected public"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`

	// EmbedProviderID and EmbedModel name the embeddings model of a
	// configured provider that the dataset's records are embedded with, for
	// semantic search (both empty: keyword search only).
	EmbedProviderID *string `json:"embedProviderId,omitempty" gorm:"size:36"`
	EmbedModel      string  `json:"embedModel" gorm:"size:200;not null" validate:"max=200"`
	// RerankProviderID and RerankModel name a rerank model applied to the
	// best candidates of a search (both empty: no reranking).
	RerankProviderID *string `json:"rerankProviderId,omitempty" gorm:"size:36"`
	RerankModel      string  `json:"rerankModel" gorm:"size:200;not null" validate:"max=200"`
}

// Retrieval defaults for a new dataset.
const (
	DefaultRecordMaxTokens  = 1000
	DefaultSearchMaxRecords = 3
	DefaultSearchMaxTokens  = 3000
)

// NewDataset returns a dataset with sensible retrieval defaults.
func NewDataset() Dataset {
	return Dataset{
		RecordMaxTokens:  DefaultRecordMaxTokens,
		SearchMaxRecords: DefaultSearchMaxRecords,
		SearchMaxTokens:  DefaultSearchMaxTokens,
		Visibility:       VisibilityPrivate,
	}
}

// Validate checks the dataset's fields: an embeddings or rerank model needs
// both its provider and its model name.
func (d *Dataset) Validate() error {
	fields := map[string]string{}
	for k, v := range ErrorFields(Validate(d)) {
		fields[k] = v
	}
	pair := func(provider *string, model, pField, mField, what string) {
		hasP, hasM := provider != nil && *provider != "", model != ""
		switch {
		case hasP && !hasM:
			if _, bad := fields[mField]; !bad {
				fields[mField] = "Name the " + what + " model the provider serves, e.g. " + map[bool]string{true: "nomic-embed-text", false: "bge-reranker-v2-m3"}[what == "embeddings"] + "."
			}
		case hasM && !hasP:
			fields[pField] = "Choose the provider that serves the " + what + " model."
		}
	}
	pair(d.EmbedProviderID, d.EmbedModel, "embedProviderId", "embedModel", "embeddings")
	pair(d.RerankProviderID, d.RerankModel, "rerankProviderId", "rerankModel", "rerank")
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: summary(fields), Fields: fields}
}

// Embeds reports whether the dataset has an embeddings model.
func (d *Dataset) Embeds() bool {
	return d.EmbedProviderID != nil && *d.EmbedProviderID != "" && d.EmbedModel != ""
}

// Reranks reports whether the dataset has a rerank model.
func (d *Dataset) Reranks() bool {
	return d.RerankProviderID != nil && *d.RerankProviderID != "" && d.RerankModel != ""
}

// DatasetRecord is one piece of knowledge in a dataset.
type DatasetRecord struct {
	ID        string `json:"id" gorm:"primaryKey;size:36"`
	DatasetID string `json:"datasetId" gorm:"size:36;not null"`
	Text      string `json:"text" gorm:"type:text;not null" validate:"required,max=100000"`
	Source    string `json:"source" gorm:"size:2000;not null" validate:"max=2000"`
	Meta      Meta   `json:"meta"`
	// ImportID is the import that made the record (nil for a record added by hand or through the API).
	ImportID  *string   `json:"importId,omitempty" gorm:"size:36"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate checks the record's fields.
func (r *DatasetRecord) Validate() error { return Validate(r) }
