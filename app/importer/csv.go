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
// per row, its text from the text column (or made by the text template from
// several columns) and its source from the source column; the meta columns'
// non-empty values go into the record's meta. Entirely empty rows are
// skipped. Rows are numbered the way a spreadsheet numbers them when no cell
// spans lines: the header is row 1.
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
	names := columnNames(header)
	plan, err := planCSV(names, p.opts)
	if err != nil {
		return err
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
		r, msg := plan.record(rec)
		if msg != "" {
			return &ParseError{Row: row, Line: line, Message: msg}
		}
		if err := p.add(r, line, row); err != nil {
			return err
		}
	}
}

// csvPlan is which columns make a record's text, source and meta.
type csvPlan struct {
	names     []string
	textCol   int            // the text column; -1 with a template
	template  []templatePart // the text template, when there is one
	sourceCol int            // -1: no source
	metaCols  []int
}

// templatePart is a piece of a text template: literal text, or a column's value.
type templatePart struct {
	text string
	col  int // -1 for literal text
}

// planCSV decides, from the header and the options, which columns go where.
func planCSV(names []string, o Options) (*csvPlan, error) {
	plan := &csvPlan{names: names, textCol: -1, sourceCol: -1}
	used := map[int]bool{}
	if strings.TrimSpace(o.TextTemplate) != "" {
		parts, err := parseTemplate(o.TextTemplate, names)
		if err != nil {
			return nil, err
		}
		plan.template = parts
		for _, part := range parts {
			if part.col >= 0 {
				used[part.col] = true
			}
		}
	} else {
		col, err := column(names, o.TextColumn, "text", "TextColumn")
		if err != nil {
			return nil, err
		}
		plan.textCol = max(col, 0)
		used[plan.textCol] = true
	}
	if o.ColumnsChosen && o.SourceColumn == "" {
		plan.sourceCol = -1
	} else {
		col, err := column(names, o.SourceColumn, "source", "SourceColumn")
		if err != nil {
			return nil, err
		}
		plan.sourceCol = col
	}
	if plan.sourceCol >= 0 && plan.sourceCol == plan.textCol {
		return nil, &OptionError{Option: "SourceColumn", Message: fmt.Sprintf("the source column cannot be the text column (%q)", names[plan.textCol])}
	}
	if plan.sourceCol >= 0 {
		used[plan.sourceCol] = true
	}
	if o.ColumnsChosen {
		seen := map[int]bool{}
		for _, m := range o.MetaColumns {
			m = strings.TrimSpace(m)
			if m == "" {
				continue
			}
			col, err := column(names, m, "", "MetaColumns")
			if err != nil {
				return nil, err
			}
			if !seen[col] {
				seen[col] = true
				plan.metaCols = append(plan.metaCols, col)
			}
		}
	} else {
		for i := range names {
			if !used[i] {
				plan.metaCols = append(plan.metaCols, i)
			}
		}
	}
	return plan, nil
}

// record makes the record of one row; msg says what is wrong with the row ("" when nothing is).
func (plan *csvPlan) record(rec []string) (Record, string) {
	var text string
	if plan.template == nil {
		what := fmt.Sprintf("column %q", plan.names[plan.textCol])
		text = strings.TrimSpace(rec[plan.textCol])
		if text == "" {
			return Record{}, what + " is empty"
		}
		if msg := checkLength(what, text, MaxTextChars); msg != "" {
			return Record{}, msg
		}
	} else {
		var b strings.Builder
		filled := false
		for _, part := range plan.template {
			if part.col < 0 {
				b.WriteString(part.text)
				continue
			}
			v := strings.TrimSpace(rec[part.col])
			filled = filled || v != ""
			b.WriteString(v)
		}
		if !filled {
			return Record{}, plan.emptyTemplate()
		}
		text = strings.TrimSpace(b.String())
		if msg := checkLength("the text the template makes", text, MaxTextChars); msg != "" {
			return Record{}, msg
		}
	}
	var source string
	if plan.sourceCol >= 0 {
		source = strings.TrimSpace(rec[plan.sourceCol])
		if msg := checkLength(fmt.Sprintf("column %q", plan.names[plan.sourceCol]), source, MaxSourceChars); msg != "" {
			return Record{}, msg
		}
	}
	var meta map[string]any
	for _, i := range plan.metaCols {
		v := rec[i]
		if strings.TrimSpace(v) == "" {
			continue
		}
		if meta == nil {
			meta = map[string]any{}
		}
		if _, dup := meta[plan.names[i]]; !dup {
			meta[plan.names[i]] = v
		}
	}
	return Record{Text: text, Source: source, Meta: meta}, ""
}

// emptyTemplate says that every column of the text template is empty in a row.
func (plan *csvPlan) emptyTemplate() string {
	var cols []string
	seen := map[int]bool{}
	for _, part := range plan.template {
		if part.col >= 0 && !seen[part.col] {
			seen[part.col] = true
			cols = append(cols, fmt.Sprintf("%q", plan.names[part.col]))
		}
	}
	if len(cols) == 1 {
		return "column " + cols[0] + " is empty"
	}
	return "the text template's columns (" + strings.Join(cols, ", ") + ") are all empty"
}

// parseTemplate reads a text template: {name} is the value of the column
// called name (case-insensitively, spaces around it ignored), {{ is a "{" and
// anything else is itself. A template must name at least one column.
func parseTemplate(tmpl string, names []string) ([]templatePart, error) {
	fail := func(format string, args ...any) error {
		return &OptionError{Option: "TextTemplate", Message: fmt.Sprintf(format, args...)}
	}
	var (
		parts   []templatePart
		literal strings.Builder
		columns int
	)
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c != '{' {
			literal.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(tmpl[i:], "{{") {
			literal.WriteByte('{')
			i += 2
			continue
		}
		end := strings.IndexByte(tmpl[i+1:], '}')
		if end < 0 {
			return nil, fail("the template has a { that is not closed by a }: write {column} for a column's value, or {{ for a { itself")
		}
		name := strings.TrimSpace(tmpl[i+1 : i+1+end])
		if name == "" {
			return nil, fail("the template has an empty placeholder {}: put a column's name inside, such as {%s}", names[0])
		}
		col := -1
		for j, n := range names {
			if strings.EqualFold(n, name) {
				col = j
				break
			}
		}
		if col < 0 {
			return nil, fail("the template names {%s}, but there is no column %q: the header (row 1) has %s", name, name, quoteList(names))
		}
		if literal.Len() > 0 {
			parts = append(parts, templatePart{text: literal.String(), col: -1})
			literal.Reset()
		}
		parts = append(parts, templatePart{col: col})
		columns++
		i += end + 2
	}
	if literal.Len() > 0 {
		parts = append(parts, templatePart{text: literal.String(), col: -1})
	}
	if columns == 0 {
		return nil, fail("the template names no column: put column names in braces, such as {%s}", names[0])
	}
	return parts, nil
}

// columnNames are the header's names, trimmed, a blank one called "column N".
func columnNames(header []string) []string {
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
		if names[i] == "" {
			names[i] = fmt.Sprintf("column %d", i+1)
		}
	}
	return names
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
	want = strings.TrimSpace(want)
	if want == "" {
		if fallback == "" {
			return -1, nil
		}
		return find(fallback), nil
	}
	if i := find(want); i >= 0 {
		return i, nil
	}
	return -1, &OptionError{Option: option, Message: fmt.Sprintf("there is no column %q: the header (row 1) has %s", want, quoteList(names))}
}

// quoteList is `"a", "b", "c"`.
func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}

// CSVTable is a CSV file's header and first rows, with the columns Parse
// uses when none are chosen, so a person can choose them in a preview.
type CSVTable struct {
	// Columns are the header's names as Parse reads them ("column 3" for a blank one).
	Columns []string
	// Rows are the first rows after the header, as they are (entirely empty rows skipped).
	Rows [][]string
	// TextColumn and SourceColumn are the columns Parse uses by default
	// (SourceColumn "" when there is none); MetaColumns the ones it keeps in meta.
	TextColumn, SourceColumn string
	MetaColumns              []string
}

// ReadCSVTable reads the header of a CSV file and up to rows of the rows
// after it. A fault in those rows is a *ParseError, as Parse reports it.
func ReadCSVTable(data []byte, rows int) (*CSVTable, error) {
	data, err := checkText(data)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Message: "the file has nothing to import: " + emptyHint[FormatCSV]}
	}
	if err != nil {
		return nil, csvError(err, 1)
	}
	t := &CSVTable{Columns: columnNames(header)}
	plan, err := planCSV(t.Columns, Options{})
	if err != nil {
		return nil, err
	}
	t.TextColumn = t.Columns[plan.textCol]
	if plan.sourceCol >= 0 {
		t.SourceColumn = t.Columns[plan.sourceCol]
	}
	for _, i := range plan.metaCols {
		t.MetaColumns = append(t.MetaColumns, t.Columns[i])
	}
	for row := 2; len(t.Rows) < rows; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err, row)
		}
		if !allEmpty(rec) {
			t.Rows = append(t.Rows, rec)
		}
	}
	return t, nil
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
