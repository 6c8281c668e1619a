package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseCSV reads an RFC 4180 CSV file whose first row is a header: one record
// per row, its text from the text column and its source from the source
// column; the other columns' non-empty values go into the record's meta.
// Entirely empty rows are skipped. Rows are numbered the way a spreadsheet
// numbers them when no cell spans lines: the header is row 1.
func (p *parser) parseCSV(data []byte) error {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return csvError(err, 1)
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
		if names[i] == "" {
			names[i] = fmt.Sprintf("column %d", i+1)
		}
	}
	textCol, err := column(names, p.opts.TextColumn, "text", "TextColumn")
	if err != nil {
		return err
	}
	if textCol < 0 {
		textCol = 0
	}
	sourceCol, err := column(names, p.opts.SourceColumn, "source", "SourceColumn")
	if err != nil {
		return err
	}
	if sourceCol == textCol {
		return &OptionError{Option: "SourceColumn", Message: fmt.Sprintf("the source column cannot be the text column (%q)", names[textCol])}
	}
	textName := fmt.Sprintf("column %q", names[textCol])
	sourceName := ""
	if sourceCol >= 0 {
		sourceName = fmt.Sprintf("column %q", names[sourceCol])
	}

	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(err, row)
		}
		line, _ := cr.FieldPos(0)
		if allEmpty(rec) {
			continue
		}
		if len(rec) != len(names) {
			return &ParseError{Row: row, Line: line, Message: fmt.Sprintf("the row has %d columns, but the header has %d", len(rec), len(names))}
		}
		text := strings.TrimSpace(rec[textCol])
		if text == "" {
			return &ParseError{Row: row, Line: line, Message: textName + " is empty"}
		}
		if msg := checkLength(textName, text, MaxTextChars); msg != "" {
			return &ParseError{Row: row, Line: line, Message: msg}
		}
		var source string
		if sourceCol >= 0 {
			source = strings.TrimSpace(rec[sourceCol])
			if msg := checkLength(sourceName, source, MaxSourceChars); msg != "" {
				return &ParseError{Row: row, Line: line, Message: msg}
			}
		}
		var meta map[string]any
		for i, v := range rec {
			if i == textCol || i == sourceCol || strings.TrimSpace(v) == "" {
				continue
			}
			if meta == nil {
				meta = map[string]any{}
			}
			if _, dup := meta[names[i]]; !dup {
				meta[names[i]] = v
			}
		}
		if err := p.add(Record{Text: text, Source: source, Meta: meta}, line, row); err != nil {
			return err
		}
	}
}

// column finds the column a person named (want, case-insensitively), or, when
// they named none, the column called fallback (-1 when there is none).
func column(names []string, want, fallback, option string) (int, error) {
	find := func(name string) int {
		for i, n := range names {
			if strings.EqualFold(n, name) {
				return i
			}
		}
		return -1
	}
	if want == "" {
		return find(fallback), nil
	}
	if i := find(want); i >= 0 {
		return i, nil
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return -1, &OptionError{Option: option, Message: fmt.Sprintf("there is no column %q: the header (row 1) has %s", want, strings.Join(quoted, ", "))}
}

func allEmpty(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// csvError turns encoding/csv's error into a *ParseError at the row and line
// where the faulty row starts.
func csvError(err error, row int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &ParseError{Row: row, Message: err.Error()}
	}
	msg := pe.Err.Error()
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		msg = `a quoted cell is not closed properly: a quote (") inside quotes must be doubled ("")`
	case errors.Is(pe.Err, csv.ErrBareQuote):
		msg = `a quote (") in a cell that is not quoted; quote the cell and double the quote ("")`
	}
	if pe.Line != pe.StartLine {
		msg += fmt.Sprintf(" (noticed on line %d)", pe.Line)
	}
	return &ParseError{Row: row, Line: pe.StartLine, Message: msg}
}
