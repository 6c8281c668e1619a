package qa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"parley/models"
	"parley/models/store"
)

// SuiteFile is a suite as a file (YAML, or JSON, which YAML reads too), so
// suites can live in git: `parley test export` writes one and `parley test
// import` reads it back. The bot and datasets are named by alias (or id, or
// a unique name); record ids that the importing database lacks are dropped
// and the record is then matched by its source.
type SuiteFile struct {
	Suite       string      `yaml:"suite" json:"suite"`
	Bot         string      `yaml:"bot" json:"bot"`
	Description string      `yaml:"description,omitempty" json:"description,omitempty"`
	Gate        bool        `yaml:"gate,omitempty" json:"gate,omitempty"`
	Cases       []CaseFile  `yaml:"cases" json:"cases"`
	Checks      []CheckFile `yaml:"checks,omitempty" json:"checks,omitempty"`
}

// CaseFile is a case in a suite file.
type CaseFile struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Turns       []models.CaseTurn `yaml:"turns" json:"turns"`
}

// CheckFile is a retrieval check in a suite file.
type CheckFile struct {
	Dataset  string  `yaml:"dataset" json:"dataset"`
	Query    string  `yaml:"query" json:"query"`
	Record   string  `yaml:"record" json:"record"`
	Source   string  `yaml:"source,omitempty" json:"source,omitempty"`
	TopK     int     `yaml:"topK,omitempty" json:"topK,omitempty"`
	MinScore float64 `yaml:"minScore,omitempty" json:"minScore,omitempty"`
}

// maxFileCases bounds the cases of one suite file.
const maxFileCases = 1000

// Export reads a suite (its active cases and its checks) as a file.
func Export(ctx context.Context, st *store.Store, suiteID string) (*SuiteFile, error) {
	suite, err := st.FindSuite(ctx, suiteID)
	if err != nil {
		return nil, err
	}
	bot, err := st.FindBot(ctx, suite.BotID)
	if err != nil {
		return nil, err
	}
	f := &SuiteFile{Suite: suite.Name, Bot: bot.ID, Description: suite.Description, Gate: suite.Gate}
	if bot.Alias != nil && *bot.Alias != "" {
		f.Bot = *bot.Alias
	}
	cursor := ""
	for len(f.Cases) < maxFileCases {
		cs, next, err := st.FindCases(ctx, store.CaseFilter{Page: models.Page{Cursor: cursor, Limit: models.MaxPageSize, Order: models.OrderAsc},
			SuiteID: suite.ID, Status: models.CaseActive})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			f.Cases = append(f.Cases, CaseFile{Name: c.Name, Description: c.Description, Turns: c.Turns})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	names := map[string]string{}
	cursor = ""
	for {
		ks, next, err := st.FindChecks(ctx, store.CheckFilter{Page: models.Page{Cursor: cursor, Limit: models.MaxPageSize, Order: models.OrderAsc}, SuiteID: suite.ID})
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			ref, ok := names[k.DatasetID]
			if !ok {
				ref = k.DatasetID
				if d, err := st.FindDataset(ctx, k.DatasetID); err == nil && d.Alias != nil && *d.Alias != "" {
					ref = *d.Alias
				}
				names[k.DatasetID] = ref
			}
			f.Checks = append(f.Checks, CheckFile{Dataset: ref, Query: k.Query, Record: k.RecordID, Source: k.Source, TopK: k.TopK, MinScore: k.MinScore})
		}
		if next == "" || len(f.Checks) >= models.MaxSuiteItems {
			break
		}
		cursor = next
	}
	return f, nil
}

// WriteYAML writes a suite file as YAML.
func (f *SuiteFile) WriteYAML(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return err
	}
	return enc.Close()
}

// ParseFile reads a suite file, YAML or JSON; unknown fields are errors, so
// a typo does not silently drop an assertion.
func ParseFile(data []byte) (*SuiteFile, error) { return parseFile(data, "", "") }

// ParseFileFor reads a suite file to import into a given suite of a given
// bot: the file's own suite and bot, if any, are replaced by these.
func ParseFileFor(data []byte, suite, bot string) (*SuiteFile, error) {
	return parseFile(data, suite, bot)
}

func parseFile(data []byte, suite, bot string) (*SuiteFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f SuiteFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, models.FieldError("file", "The file is empty.")
		}
		return nil, models.FieldError("file", "The file is not a valid suite file: "+strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if suite != "" {
		f.Suite, f.Bot = suite, bot
	}
	if strings.TrimSpace(f.Suite) == "" {
		return nil, models.FieldError("file", "The file names no suite (suite: NAME).")
	}
	if strings.TrimSpace(f.Bot) == "" {
		return nil, models.FieldError("file", "The file names no bot (bot: ALIAS, ID or NAME).")
	}
	if len(f.Cases) > maxFileCases {
		return nil, models.FieldError("file", fmt.Sprintf("A suite file holds at most %d cases.", maxFileCases))
	}
	return &f, nil
}

// Import makes the suite a file describes exist as written (see
// store.ReplaceSuite), after checking every case. createdBy names who
// imported it. Errors: invalid (the file, a case: the message names it),
// not_found (the bot or a dataset).
func Import(ctx context.Context, st *store.Store, f *SuiteFile, createdBy string) (*store.ImportCounts, error) {
	bot, err := st.FindBotByRef(ctx, f.Bot)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range f.Cases {
		for _, t := range c.Turns {
			for _, a := range t.Expect {
				if a.Record != "" {
					ids = append(ids, a.Record)
				}
			}
		}
	}
	exist, err := st.RecordsExist(ctx, ids)
	if err != nil {
		return nil, err
	}
	var cases []models.TestCase
	for i, cf := range f.Cases {
		c := models.TestCase{Name: cf.Name, Description: cf.Description, Status: models.CaseActive, Turns: cf.Turns,
			CreatedBy: models.TruncateUTF8(createdBy, 254)}
		for ti := range c.Turns {
			for ai := range c.Turns[ti].Expect {
				a := &c.Turns[ti].Expect[ai]
				if a.Kind == models.AssertRetrieved && a.Record != "" && !exist[a.Record] && a.Source != "" {
					a.Record = "" // made on another database: match the record by its source
				}
			}
		}
		if err := c.Validate(); err != nil {
			name := cf.Name
			if name == "" {
				name = fmt.Sprintf("number %d", i+1)
			}
			return nil, models.FieldError("file", fmt.Sprintf("Case %s: %s", name, fieldSummary(err)))
		}
		cases = append(cases, c)
	}
	var checks []models.RetrievalCheck
	for i, kf := range f.Checks {
		ds, err := st.FindDatasetByRef(ctx, kf.Dataset)
		if err != nil {
			return nil, models.FieldError("file", fmt.Sprintf("Check %d: %s", i+1, models.ErrorMessage(err)))
		}
		k := models.RetrievalCheck{DatasetID: ds.ID, Query: strings.TrimSpace(kf.Query), RecordID: kf.Record, TopK: kf.TopK, MinScore: kf.MinScore}
		if k.TopK == 0 {
			k.TopK = models.DefaultSearchMaxRecords
		}
		if err := k.Validate(); err != nil {
			return nil, models.FieldError("file", fmt.Sprintf("Check %d: %s", i+1, fieldSummary(err)))
		}
		checks = append(checks, k)
	}
	return st.ReplaceSuite(ctx, models.TestSuite{BotID: bot.ID, Name: f.Suite, Description: f.Description, Gate: f.Gate}, cases, checks)
}

// fieldSummary says a validation error's fields in one line.
func fieldSummary(err error) string {
	fields := models.ErrorFields(err)
	if len(fields) == 0 {
		return models.ErrorMessage(err)
	}
	var parts []string
	for k, v := range fields {
		parts = append(parts, k+": "+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
