package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"parley/app/importer"
	"parley/models"
)

// Templates of the import preview: the page, and the preview alone, which
// htmx swaps in place of the import form and of itself.
const (
	tplUploadPreview     = "pages/datasets/preview"
	tplUploadPreviewPart = "partials/import_preview"
)

// What a preview shows.
const (
	// previewRows is how many CSV rows the column table shows as they are.
	previewRows = 5
	// previewRecords is how many records a preview shows; previewChunks how
	// many chunks of a text or Markdown file (what its settings change).
	previewRecords = 5
	previewChunks  = 10
	// previewChars is the most of a record's text a preview shows.
	previewChars = 5000
)

// previewRecord is one record of a preview, as it will be stored.
type previewRecord struct {
	importer.Record
	// Chars is the text's length in characters; Shown the part shown (all of
	// it up to previewChars) and Hidden how many characters are not.
	Chars  int
	Shown  string
	Hidden int
	// MetaJSON is the meta as stored, "" when there is none.
	MetaJSON string
}

// hiddenField is a form value carried by a hidden input.
type hiddenField struct{ Name, Value string }

// previewView is what an upload's preview shows: the file, the choices (with
// the CSV's columns), the first records exactly as they will be stored, and
// the Import button carrying the choices they were made with.
type previewView struct {
	Dataset *models.Dataset
	Upload  *models.DatasetUpload
	// Size is the file's size for people; Format what it is read as (an importer format).
	Size    string
	Format  string
	Formats []importFormat
	Form    importForm
	Errors  map[string]string
	// Table is a CSV file's header and first rows (nil for other formats, or a CSV that cannot be read).
	Table   *importer.CSVTable
	Records []previewRecord
	// Total is how many records the import makes (0 when the choices or the file have a fault).
	Total int64
	// URL is the preview's address; Hidden the choices the Import button sends.
	URL    string
	Hidden []hiddenField
	// parsed are all the records, for the import itself.
	parsed []importer.Record
}

// uploadPage is the preview's data as a page, and as a fragment (which uses
// only the CSRF token of its Page).
type uploadPage struct {
	Page
	previewView
}

// IsCSV reports a CSV file, whose columns are to choose.
func (v previewView) IsCSV() bool { return v.Format == importer.FormatCSV }

// Chunked reports a text or Markdown file, cut into chunks.
func (v previewView) Chunked() bool {
	return v.Format == importer.FormatText || v.Format == importer.FormatMarkdown
}

// Placeholders are the template's placeholders for the CSV's columns, e.g. "{question}".
func (v previewView) Placeholders() []string {
	if v.Table == nil {
		return nil
	}
	out := make([]string, len(v.Table.Columns))
	for i, c := range v.Table.Columns {
		out[i] = "{" + c + "}"
	}
	return out
}

// UnknownTextColumn is the chosen text column when the header lacks it (kept, and marked, in the menu).
func (v previewView) UnknownTextColumn() string { return v.unknownColumn(v.Form.TextColumn) }

// UnknownSourceColumn is the chosen source column when the header lacks it.
func (v previewView) UnknownSourceColumn() string { return v.unknownColumn(v.Form.SourceColumn) }

func (v previewView) unknownColumn(name string) string {
	if v.Table == nil || name == "" {
		return ""
	}
	for _, c := range v.Table.Columns {
		if strings.EqualFold(c, name) {
			return ""
		}
	}
	return name
}

// IsColumn reports whether a chosen name is this column (as the importer matches names).
func (v previewView) IsColumn(chosen, column string) bool { return strings.EqualFold(chosen, column) }

// IsMeta reports whether a column is among the chosen meta columns.
func (v previewView) IsMeta(column string) bool {
	for _, m := range v.Form.Meta {
		if strings.EqualFold(m, column) {
			return true
		}
	}
	return false
}

// FormatName names the format the file is read as.
func (v previewView) FormatName() string {
	for _, f := range importFormats {
		if f.Value == v.Format && f.Value != "" {
			return f.Label
		}
	}
	return v.Format
}

// isHTMX reports a request htmx makes to swap a fragment in (not the page it
// fetches to restore history, which must be whole).
func isHTMX(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-History-Restore-Request") != "true"
}

// uploadURL is an upload's preview address, with the choices in q.
func uploadURL(datasetID, uploadID string, q url.Values) string {
	u := "/datasets/" + datasetID + "/uploads/" + uploadID
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// values are the choices that apply to format, as form values.
func (f importForm) values(format string) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("format", f.Format)
	switch format {
	case importer.FormatCSV:
		set("textFrom", f.TextFrom)
		set("textColumn", f.TextColumn)
		set("textTemplate", f.TextTemplate)
		set("sourceColumn", f.SourceColumn)
		if f.Chosen == "1" {
			v.Set("chosen", "1")
			for _, m := range f.Meta {
				v.Add("meta", m)
			}
		}
	case importer.FormatText, importer.FormatMarkdown:
		set("chunkSize", f.ChunkSize)
		set("overlap", f.Overlap)
	}
	return v
}

// buildPreview reads an upload with the choices in f: the CSV's columns (the
// defaults filled in on the first look), then every record, of which the
// first are shown. Faults go into the view's Errors, next to their fields.
func (s *Server) buildPreview(d *models.Dataset, u *models.DatasetUpload, f importForm) (previewView, error) {
	v := previewView{Dataset: d, Upload: u, Size: importer.FormatBytes(int64(len(u.Content))), Formats: importFormats, Errors: map[string]string{}}
	maxBytes := s.importMaxBytes()
	format, err := importer.Check(u.FileName, u.Content, importer.Options{Format: strings.TrimSpace(f.Format), MaxBytes: maxBytes})
	if err != nil {
		if _, err := s.importError(err, v.Errors); err != nil {
			return v, err
		}
	}
	v.Format = format
	if format == importer.FormatCSV {
		if table, err := importer.ReadCSVTable(u.Content, previewRows); err == nil {
			v.Table = table
			if f.Chosen != "1" { // the first look: what Parse would do by itself
				f.TextColumn = cmpOr(strings.TrimSpace(f.TextColumn), table.TextColumn)
				f.SourceColumn = cmpOr(strings.TrimSpace(f.SourceColumn), table.SourceColumn)
				f.Meta = nil
				for _, col := range table.Columns {
					if !strings.EqualFold(col, f.TextColumn) && !strings.EqualFold(col, f.SourceColumn) {
						f.Meta = append(f.Meta, col)
					}
				}
				f.Chosen = "1"
			}
		} else if _, err := s.importError(err, v.Errors); err != nil {
			return v, err
		}
		f.TextFrom = cmpOr(f.TextFrom, textFromColumn)
	}
	if v.Chunked() {
		f.ChunkSize = cmpOr(strings.TrimSpace(f.ChunkSize), strconv.Itoa(importer.DefaultMaxChars))
		f.Overlap = cmpOr(strings.TrimSpace(f.Overlap), strconv.Itoa(importer.DefaultOverlapChars))
	}
	opts, errs := f.options()
	for k, msg := range errs {
		v.Errors[k] = msg
	}
	v.Form = f
	v.URL = uploadURL(d.ID, u.ID, nil)
	for k, vs := range f.values(format) {
		for _, val := range vs {
			v.Hidden = append(v.Hidden, hiddenField{k, val})
		}
	}
	sortHidden(v.Hidden)
	if len(v.Errors) > 0 {
		return v, nil
	}
	opts.MaxBytes = maxBytes
	parsed, err := importer.Parse(u.FileName, bytes.NewReader(u.Content), opts)
	if err != nil {
		_, err := s.importError(err, v.Errors)
		return v, err
	}
	v.parsed, v.Total = parsed, int64(len(parsed))
	shown := previewRecords
	if v.Chunked() {
		shown = previewChunks
	}
	for _, r := range parsed[:min(shown, len(parsed))] {
		v.Records = append(v.Records, newPreviewRecord(r))
	}
	return v, nil
}

// newPreviewRecord is a record as a preview shows it.
func newPreviewRecord(r importer.Record) previewRecord {
	p := previewRecord{Record: r, Chars: utf8.RuneCountInString(r.Text), Shown: r.Text}
	if p.Chars > previewChars {
		p.Shown, p.Hidden = string([]rune(r.Text)[:previewChars]), p.Chars-previewChars
	}
	if len(r.Meta) > 0 {
		b, _ := json.Marshal(r.Meta) // as it is stored: compact, keys in order
		p.MetaJSON = string(b)
	}
	return p
}

// cmpOr is s, or def when s is "".
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sortHidden orders hidden fields by name, keeping the order of a name's values.
func sortHidden(h []hiddenField) {
	slices.SortStableFunc(h, func(a, b hiddenField) int { return strings.Compare(a.Name, b.Name) })
}

// renderPreview renders a preview: the fragment for htmx, a page otherwise.
func (s *Server) renderPreview(c *fiber.Ctx, v previewView) error {
	status := fiber.StatusOK
	if len(v.Errors) > 0 {
		status = fiber.StatusUnprocessableEntity
	}
	if isHTMX(c) {
		return s.render(c, status, tplUploadPreviewPart, uploadPage{Page: Page{CSRF: csrfToken(c)}, previewView: v})
	}
	return s.render(c, status, tplUploadPreview, uploadPage{Page: s.page(c, "Preview "+v.Upload.FileName, "datasets"), previewView: v})
}

// handleUploadCreate handles POST /datasets/:id/uploads: the import form's
// file, sent by its Preview button. A file Parley cannot read (format,
// size, encoding) is answered like an import, with the form; any other is
// kept for models.UploadLifetime and its preview shown: a redirect to it, or
// with htmx the preview itself in place of the form, its address pushed.
func (s *Server) handleUploadCreate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	up, err := s.openImportUpload(c)
	if up == nil || err != nil {
		return err // the form is answered, with what is wrong
	}
	defer up.file.Close()
	d, f, errs, name, file := up.dataset, up.form, up.errs, up.name, up.file
	var status int
	data, err := io.ReadAll(io.LimitReader(file, s.importMaxBytes()+1))
	if err != nil {
		return fmt.Errorf("upload: read: %w", err)
	}
	format, err := importer.Check(name, data, importer.Options{Format: f.Format, MaxBytes: s.importMaxBytes()})
	if err != nil {
		if status, err = s.importError(err, errs); err != nil {
			return err
		}
		errs["form"] = fmt.Sprintf("%s cannot be read. Correct what is marked below and try again.", name)
		return s.renderImport(c, status, d, f, errs)
	}
	u, err := s.store.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: name, Content: data})
	if err != nil {
		return err
	}
	target := uploadURL(d.ID, u.ID, f.values(format))
	if !isHTMX(c) {
		return c.Redirect(target, fiber.StatusSeeOther)
	}
	v, err := s.buildPreview(d, u, f)
	if err != nil {
		return err
	}
	c.Set("HX-Push-Url", target)
	return s.renderPreview(c, v)
}

// findUpload loads the dataset and the upload of the URL.
func (s *Server) findUpload(c *fiber.Ctx) (*models.Dataset, *models.DatasetUpload, error) {
	ctx := c.UserContext()
	d, err := s.store.FindDataset(ctx, c.Params("id"))
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.FindUpload(ctx, d.ID, c.Params("uploadId"))
	if err != nil {
		return nil, nil, err
	}
	return d, u, nil
}

// handleUploadPreview handles GET /datasets/:id/uploads/:uploadId: the
// preview of a kept file with the choices in the query (the CSV's text,
// template, source and meta columns; a text file's chunk size and overlap).
// A choice that does not fit the file is a 422 with its message next to it.
// Writes nothing.
func (s *Server) handleUploadPreview(c *fiber.Ctx) error {
	d, u, err := s.findUpload(c)
	if err != nil {
		return err
	}
	var f importForm
	if err := c.QueryParser(&f); err != nil {
		return badForm(err)
	}
	v, err := s.buildPreview(d, u, f)
	if err != nil {
		return err
	}
	return s.renderPreview(c, v)
}

// handleUploadImport handles POST /datasets/:id/uploads/:uploadId: imports
// the kept file with the choices its preview was shown with (the Import
// button's hidden fields), as one import, and forgets the file. Choices that
// do not fit are the preview again with their messages (422), and nothing is
// written; a file imported already (the form sent twice) is not found.
func (s *Server) handleUploadImport(c *fiber.Ctx) error {
	d, u, err := s.findUpload(c)
	if err != nil {
		return err
	}
	var f importForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	v, err := s.buildPreview(d, u, f)
	if err != nil {
		return err
	}
	if len(v.Errors) == 0 {
		var imp *models.DatasetImport
		imp, err = s.store.ImportUpload(c.UserContext(), u.ID, models.DatasetImport{DatasetID: d.ID, FileName: u.FileName, Format: v.Format},
			importedRecords(v.parsed))
		if err == nil {
			setFlash(c, importedFlash(imp))
			return redirect(c, "/datasets/"+d.ID)
		}
		if models.ErrorCode(err) != models.CodeInvalid {
			return err
		}
		v.Errors["file"] = models.ErrorMessage(err)
	}
	v.Errors["form"] = "Nothing was imported. Correct what is marked below, then import again."
	return s.renderPreview(c, v)
}

// ExpiresIn says how long the upload is kept, e.g. "until 15:04 UTC".
func (v previewView) ExpiresIn() string {
	return "until " + v.Upload.ExpiresAt.UTC().Format("15:04 UTC") + fmt.Sprintf(" (%d minutes after it was sent)", int(models.UploadLifetime/time.Minute))
}
