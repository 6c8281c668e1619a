package models

import (
	"fmt"
	"time"
)

// UploadLifetime is how long an uploaded file waits for its import after its
// preview: long enough to choose the columns, short enough that abandoned
// uploads do not pile up.
const UploadLifetime = time.Hour

// DatasetImport is one import of a file into a dataset: a batch whose records
// name it (DatasetRecord.ImportID), so the dataset page can say who imported
// what and when, and the whole batch can be undone in one action.
type DatasetImport struct {
	ID        string `json:"id" gorm:"primaryKey;size:36"`
	DatasetID string `json:"datasetId" gorm:"size:36;not null"`
	// FileName is the imported file's name, without any directory ("" when the records came without one).
	FileName string `json:"fileName" gorm:"size:1000;not null" validate:"max=1000"`
	// Format is the importer's format the file was read as (txt, md, csv, json, jsonl).
	Format string `json:"format" gorm:"size:20;not null" validate:"max=20"`
	// RecordCount is how many records the import made.
	RecordCount int `json:"recordCount" gorm:"not null"`
	// CreatedBy… is who imported it (see Actor).
	CreatedByKind string    `json:"createdByKind" gorm:"size:20;not null"`
	CreatedByID   string    `json:"createdById" gorm:"size:100;not null"`
	CreatedByName string    `json:"createdByName" gorm:"size:254;not null"`
	CreatedAt     time.Time `json:"createdAt" gorm:"not null"`
	// UndoneAt, UndoneByName and UndoneRecords say when the import was undone,
	// by whom and how many of its records that removed (nil: not undone).
	UndoneAt      *time.Time `json:"undoneAt,omitempty"`
	UndoneByName  string     `json:"undoneByName" gorm:"size:254;not null"`
	UndoneRecords int        `json:"undoneRecords" gorm:"not null"`
	// Remaining is how many of its records the dataset still holds (read, not stored).
	Remaining int64 `json:"remaining" gorm:"-"`
}

// Label names the import for people: “faq.csv” by Ada on 2024-05-01 10:00 UTC.
func (i DatasetImport) Label() string {
	name := i.FileName
	if name == "" {
		name = "records without a file name"
	}
	who := i.CreatedByName
	if who == "" {
		who = i.CreatedByKind
	}
	return fmt.Sprintf("“%s” by %s on %s", name, who, i.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
}

// Intact reports whether the dataset still holds every record the import made.
func (i DatasetImport) Intact() bool { return i.Remaining == int64(i.RecordCount) }

// Undone reports whether the import has been undone.
func (i DatasetImport) Undone() bool { return i.UndoneAt != nil }

// DatasetUpload is a file uploaded for an import and kept, for at most
// UploadLifetime, while its preview is looked at and its columns chosen, so
// the file is sent once however often the preview changes (and a browser
// without JavaScript need not choose it again).
type DatasetUpload struct {
	ID        string `gorm:"primaryKey;size:36"`
	DatasetID string `gorm:"size:36;not null"`
	FileName  string `gorm:"size:1000;not null" validate:"max=1000"`
	Content   []byte `gorm:"not null"`
	// CreatedByID is the uploader's actor id: a newer upload of theirs to the same dataset replaces it.
	CreatedByID string    `gorm:"size:100;not null"`
	CreatedAt   time.Time `gorm:"not null"`
	ExpiresAt   time.Time `gorm:"not null"`
}

// RecordFilter picks records of one dataset, for the record list and for
// deleting all the records it matches. Every condition is index-backed.
type RecordFilter struct {
	DatasetID string
	// Text keeps records containing every word of it, each as a word or the
	// start of one, as the full-text index reads them (stemmed,
	// case-insensitive, common words such as "the" ignored; the index covers
	// the source too, which PostgreSQL reads as whole URLs and SQLite as words).
	Text string
	// Source keeps records whose source starts with it (case-sensitive).
	Source string
	// ImportID keeps the records of one import.
	ImportID string
}

// IsZero reports whether the filter keeps every record of its dataset.
func (f RecordFilter) IsZero() bool { return f.Text == "" && f.Source == "" && f.ImportID == "" }

// RecordList is one page of a dataset's records, newest first, with where it
// sits among all the records the filter matches ("records 26–50 of 120").
type RecordList struct {
	Records []DatasetRecord
	// Total is how many records the filter matches.
	Total int64
	// Offset is how many matching records come before the first one shown.
	Offset int64
	// Next is the cursor of the next (older) page, "" on the last one; Prev
	// that of the previous (newer) page, "" on the first.
	Next, Prev string
}
