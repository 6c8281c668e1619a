// Package importer turns an uploaded file into dataset records: plain text and
// Markdown chunked by headings and paragraphs, CSV rows, and JSON or JSON Lines
// objects. It knows nothing of HTTP or databases: it reads a file and returns
// its records, or an error that names the line or row at fault, so a malformed
// file is rejected before anything is written.
package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults and limits of an import.
const (
	// DefaultMaxChars is the largest chunk cut from a text or Markdown file, in characters.
	DefaultMaxChars = 2000
	// DefaultOverlapChars is how much of a split paragraph the next chunk repeats.
	DefaultOverlapChars = 200
	// MinMaxChars is the smallest chunk size allowed: smaller chunks carry too little to be found.
	MinMaxChars = 100
	// DefaultMaxBytes is the largest file read.
	DefaultMaxBytes = 20 << 20
	// DefaultMaxRecords is the most records one file may make.
	DefaultMaxRecords = 50_000
	// MaxTextChars is the most characters a record's text may hold (as models.DatasetRecord allows).
	MaxTextChars = 100_000
	// MaxSourceChars is the most characters a record's source may hold (as models.DatasetRecord allows).
	MaxSourceChars = 2000
)

// File formats, named by their usual extension.
const (
	FormatText     = "txt"
	FormatMarkdown = "md"
	FormatCSV      = "csv"
	FormatJSON     = "json"
	FormatJSONL    = "jsonl"
)

// Formats lists the formats Parse reads, in the order the dashboard offers them.
var Formats = []string{FormatText, FormatMarkdown, FormatCSV, FormatJSON, FormatJSONL}

// extensions maps file extensions (lower case) to formats.
var extensions = map[string]string{
	".txt": FormatText, ".text": FormatText,
	".md": FormatMarkdown, ".markdown": FormatMarkdown,
	".csv":   FormatCSV,
	".json":  FormatJSON,
	".jsonl": FormatJSONL, ".ndjson": FormatJSONL,
}

// Sentinel causes of a *ParseError, for callers that answer them differently
// (a file too large is not the same mistake as a typo on line 17).
var (
	ErrTooLarge       = errors.New("importer: file too large")
	ErrTooManyRecords = errors.New("importer: too many records")
)

// Options tune Parse. The zero value reads the format from the file name and
// uses the defaults.
type Options struct {
	// Format forces a format (one of Formats); "" picks it by the file's extension.
	Format string
	// MaxChars is the largest text or Markdown chunk, in characters (0: DefaultMaxChars).
	MaxChars int
	// OverlapChars is how many characters of a paragraph too long for one
	// chunk the next chunk repeats, so a sentence cut in two is whole in one of
	// them (0: DefaultOverlapChars; negative: none).
	OverlapChars int
	// TextColumn names the CSV column that holds the text ("": the column
	// named "text", or else the first column). Names match case-insensitively.
	TextColumn string
	// SourceColumn names the CSV column that holds the source ("": the column
	// named "source", if there is one; with ColumnsChosen, none).
	SourceColumn string
	// TextTemplate, when not blank, makes each CSV row's text from several
	// columns instead of TextColumn: {name} is the value of the column called
	// name (case-insensitively), {{ is a "{" itself, and the rest is kept as
	// written, e.g. "Q: {question}\nA: {answer}". A name the header does not
	// have is an *OptionError for TextTemplate.
	TextTemplate string
	// ColumnsChosen says SourceColumn and MetaColumns are what a person chose
	// (in the import preview), not defaults: SourceColumn "" is no source, and
	// MetaColumns lists every column kept in meta (none when it is empty).
	// Without it, every column not used for the text or the source is kept.
	ColumnsChosen bool
	// MetaColumns names the CSV columns whose values each record's meta keeps,
	// under the column's name (read only with ColumnsChosen).
	MetaColumns []string
	// MaxBytes is the largest file read (0: DefaultMaxBytes).
	MaxBytes int64
	// MaxRecords is the most records the file may make (0: DefaultMaxRecords).
	MaxRecords int
}

// withDefaults fills the zero values.
func (o Options) withDefaults() Options {
	if o.MaxChars == 0 {
		o.MaxChars = DefaultMaxChars
	}
	switch {
	case o.OverlapChars == 0:
		o.OverlapChars = min(DefaultOverlapChars, o.MaxChars/2)
	case o.OverlapChars < 0:
		o.OverlapChars = 0
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = DefaultMaxRecords
	}
	o.Format = strings.ToLower(strings.TrimSpace(o.Format))
	o.TextColumn = strings.TrimSpace(o.TextColumn)
	o.SourceColumn = strings.TrimSpace(o.SourceColumn)
	return o
}

// validate checks the options a person chose (after defaults).
func (o Options) validate() error {
	if o.Format != "" && !isFormat(o.Format) {
		return &OptionError{Option: "Format", Message: fmt.Sprintf("unknown format %q: use %s", o.Format, formatList())}
	}
	if o.MaxChars < MinMaxChars || o.MaxChars > MaxTextChars {
		return &OptionError{Option: "MaxChars", Message: fmt.Sprintf("the chunk size must be from %d to %d characters", MinMaxChars, MaxTextChars)}
	}
	if o.OverlapChars > o.MaxChars/2 {
		return &OptionError{Option: "OverlapChars", Message: fmt.Sprintf("the overlap must be at most half the chunk size (%d characters)", o.MaxChars/2)}
	}
	return nil
}

// Record is one record read from a file, ready to be stored in a dataset.
type Record struct {
	Text   string
	Source string
	// Meta holds extra fields: other CSV columns, other JSON fields, the
	// Markdown section a chunk came from. Nil when there are none.
	Meta map[string]any
}

// ParseError is a fault in the file's content: where it is and what is wrong,
// in words fit for the person who made the file.
type ParseError struct {
	// Line is the 1-based line at fault (0 when no one line is).
	Line int
	// Row is the 1-based CSV row at fault, the header being row 1 (0 for other formats).
	Row int
	// Message says what is wrong, e.g. `"text" is missing`.
	Message string
	// Err is ErrTooLarge, ErrTooManyRecords or nil.
	Err error
}

// Error returns e.g. `line 17: "text" is missing` or `row 5: column "text" is empty`.
func (e *ParseError) Error() string {
	switch {
	case e.Row > 0 && e.Line > 0 && e.Line != e.Row:
		return fmt.Sprintf("row %d (line %d): %s", e.Row, e.Line, e.Message)
	case e.Row > 0:
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

// Unwrap returns the sentinel cause, if any.
func (e *ParseError) Unwrap() error { return e.Err }

// OptionError is an option that does not fit the file or is out of range,
// such as a CSV column the header does not have.
type OptionError struct {
	// Option is the Options field at fault, e.g. "TextColumn".
	Option  string
	Message string
}

// Error returns the message.
func (e *OptionError) Error() string { return e.Message }

// Check reads what Parse needs before it parses: the file's format (from
// opts.Format or the name's extension), that it fits opts.MaxBytes and that
// it is UTF-8 text. It returns the format, or the *ParseError Parse would.
// An upload that passes can be kept and parsed later with other options.
func Check(name string, data []byte, opts Options) (string, error) {
	opts = opts.withDefaults()
	if opts.Format != "" && !isFormat(opts.Format) {
		return "", &OptionError{Option: "Format", Message: fmt.Sprintf("unknown format %q: use %s", opts.Format, formatList())}
	}
	format := opts.Format
	if format == "" {
		var err error
		if format, err = FormatOf(name); err != nil {
			return "", err
		}
	}
	if int64(len(data)) > opts.MaxBytes {
		return "", &ParseError{Err: ErrTooLarge, Message: "the file is larger than " + FormatBytes(opts.MaxBytes) + ", the most one import may be"}
	}
	if _, err := checkText(data); err != nil {
		return "", err
	}
	return format, nil
}

// Parse reads the file called name from r and returns its records: every
// record or none, with a *ParseError (or *OptionError) saying what is wrong.
// The format comes from opts.Format, or else from the name's extension.
func Parse(name string, r io.Reader, opts Options) ([]Record, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	format := opts.Format
	if format == "" {
		var err error
		if format, err = FormatOf(name); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("importer: read %s: %w", name, err)
	}
	if int64(len(data)) > opts.MaxBytes {
		return nil, &ParseError{Err: ErrTooLarge, Message: "the file is larger than " + FormatBytes(opts.MaxBytes) + ", the most one import may be"}
	}
	data, err = checkText(data)
	if err != nil {
		return nil, err
	}
	p := &parser{name: BaseName(name), opts: opts}
	switch format {
	case FormatText:
		err = p.parseText(data, false)
	case FormatMarkdown:
		err = p.parseText(data, true)
	case FormatCSV:
		err = p.parseCSV(data)
	case FormatJSON:
		err = p.parseJSON(data)
	case FormatJSONL:
		err = p.parseJSONL(data)
	}
	if err != nil {
		return nil, err
	}
	if len(p.recs) == 0 {
		return nil, &ParseError{Message: "the file has nothing to import: " + emptyHint[format]}
	}
	return p.recs, nil
}

// emptyHint says, per format, what an import needs.
var emptyHint = map[string]string{
	FormatText:     "it has no text",
	FormatMarkdown: "it has no text",
	FormatCSV:      "it has a header but no rows",
	FormatJSON:     `the array is empty; it should hold objects like {"text": "…", "source": "…"}`,
	FormatJSONL:    `it has no lines; each line should be an object like {"text": "…", "source": "…"}`,
}

// FormatOf returns the format of a file by its extension, or a *ParseError
// listing the supported ones.
func FormatOf(name string) (string, error) {
	ext := strings.ToLower(path.Ext(BaseName(name)))
	if f, ok := extensions[ext]; ok {
		return f, nil
	}
	what := "has no extension"
	if ext != "" {
		what = fmt.Sprintf("is a %s file", ext)
	}
	return "", &ParseError{Message: fmt.Sprintf("%q %s; Parley imports %s files", BaseName(name), what, formatList())}
}

func isFormat(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// formatList is ".txt, .md, .csv, .json or .jsonl".
func formatList() string {
	dotted := make([]string, len(Formats))
	for i, f := range Formats {
		dotted[i] = "." + f
	}
	return strings.Join(dotted[:len(dotted)-1], ", ") + " or " + dotted[len(dotted)-1]
}

// BaseName is a file's name without any directory a browser may have sent
// (some send "C:\\Users\\me\\faq.csv"): the name records' sources start with.
func BaseName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	return strings.TrimSpace(name)
}

// FormatBytes writes a size for people: "20 MB", "3.9 MB", "512 KB".
func FormatBytes(n int64) string {
	const mb, kb = 1 << 20, 1 << 10
	trim := func(s string) string { return strings.TrimSuffix(s, ".0") }
	switch {
	case n >= mb:
		return trim(fmt.Sprintf("%.1f", float64(n)/mb)) + " MB"
	case n >= kb:
		return trim(fmt.Sprintf("%.1f", float64(n)/kb)) + " KB"
	}
	return fmt.Sprintf("%d bytes", n)
}

var (
	utf8BOM    = []byte{0xEF, 0xBB, 0xBF}
	utf16LEBOM = []byte{0xFF, 0xFE}
	utf16BEBOM = []byte{0xFE, 0xFF}
)

// checkText drops a UTF-8 byte order mark and rejects what is not UTF-8 text,
// naming the line of the first bad byte.
func checkText(data []byte) ([]byte, error) {
	if bytes.HasPrefix(data, utf16LEBOM) || bytes.HasPrefix(data, utf16BEBOM) {
		return nil, &ParseError{Line: 1, Message: "the file is UTF-16 text; save it as UTF-8 and import it again"}
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if utf8.Valid(data) && bytes.IndexByte(data, 0) < 0 {
		return data, nil
	}
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		if c == 0 {
			return nil, &ParseError{Line: line, Message: "the file holds a NUL byte: it looks binary, not text"}
		}
		if c == '\n' {
			line++
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return nil, &ParseError{Line: line, Message: "the text is not valid UTF-8; save the file as UTF-8 and import it again"}
		}
		i += size
	}
	return data, nil
}

// parser collects the records of one file.
type parser struct {
	name string
	opts Options
	recs []Record
}

// add appends a record, failing once there are more than MaxRecords.
func (p *parser) add(r Record, line, row int) error {
	if len(p.recs) >= p.opts.MaxRecords {
		return &ParseError{Line: line, Row: row, Err: ErrTooManyRecords,
			Message: fmt.Sprintf("the file makes more than %d records, the most one import may add; split it into smaller files", p.opts.MaxRecords)}
	}
	p.recs = append(p.recs, r)
	return nil
}

// checkLength describes a text or source longer than a record may hold ("" when it fits); what
// names the field the way the format does (`"text"`, `column "body"`).
func checkLength(what, s string, limit int) string {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Sprintf("%s is %d characters long; a record holds at most %d", what, n, limit)
	}
	return ""
}
