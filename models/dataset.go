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

// Validate checks the dataset's fields.
func (d *Dataset) Validate() error { return Validate(d) }

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
