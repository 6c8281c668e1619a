package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// parseJSON reads an array of objects, each with a "text" (required) and a
// "source" (optional); a "meta" object and any other fields become the
// record's meta. Faults name the line where the object at fault starts.
func (p *parser) parseJSON(data []byte) error {
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return jsonError(err, lines)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &ParseError{Line: lines.at(skipSpace(data, 0)),
			Message: `expected an array of objects, like [{"text": "…", "source": "…"}]`}
	}
	for dec.More() {
		start := skipSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(err, lines)
		}
		line := lines.at(start)
		rec, msg := jsonRecord(raw)
		if msg != "" {
			return &ParseError{Line: line, Message: msg}
		}
		if err := p.add(rec, line, 0); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return jsonError(err, lines)
	}
	if end := skipSpace(data, int(dec.InputOffset())); end < len(data) {
		return &ParseError{Line: lines.at(end), Message: "there is more after the array's closing ]"}
	}
	return nil
}

// parseJSONL reads JSON Lines: one object per line, as in parseJSON; blank
// lines are skipped.
func (p *parser) parseJSONL(data []byte) error {
	n := 0
	for len(data) > 0 {
		n++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		rec, msg := jsonRecord(line)
		if msg != "" {
			return &ParseError{Line: n, Message: msg}
		}
		if err := p.add(rec, n, 0); err != nil {
			return err
		}
	}
	return nil
}

// jsonRecord reads one object; msg says what is wrong with it ("" when nothing is).
func jsonRecord(raw []byte) (Record, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Record{}, fmt.Sprintf(`expected an object like {"text": "…", "source": "…"}, found %s`, jsonKind(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return Record{}, "invalid JSON: " + jsonMessage(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, "there is more after the object on this line; put one object per line"
	}
	text, msg := jsonString(obj, "text", true)
	if msg != "" {
		return Record{}, msg
	}
	source, msg := jsonString(obj, "source", false)
	if msg != "" {
		return Record{}, msg
	}
	if m := checkLength(`"text"`, text, MaxTextChars); m != "" {
		return Record{}, m
	}
	if m := checkLength(`"source"`, source, MaxSourceChars); m != "" {
		return Record{}, m
	}
	var meta map[string]any
	switch m := obj["meta"].(type) {
	case nil:
	case map[string]any:
		meta = m
	default:
		return Record{}, fmt.Sprintf(`"meta" must be an object, not %s`, jsonType(m))
	}
	for k, v := range obj {
		if k == "text" || k == "source" || k == "meta" || v == nil {
			continue
		}
		if meta == nil {
			meta = map[string]any{}
		}
		if _, dup := meta[k]; !dup {
			meta[k] = v
		}
	}
	return Record{Text: text, Source: source, Meta: meta}, ""
}

// jsonString reads a string field; a required one must be present and not blank.
func jsonString(obj map[string]any, key string, required bool) (string, string) {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			return "", fmt.Sprintf("%q is missing", key)
		}
		return "", ""
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Sprintf("%q must be a string, not %s", key, jsonType(v))
	}
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", fmt.Sprintf("%q is empty", key)
	}
	return s, ""
}

// jsonType names a decoded JSON value's type for messages.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// jsonKind names the kind of JSON value raw starts with.
func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == 't' || c == 'f':
		return "true or false"
	case c == 'n':
		return "null"
	}
	return "something that is not JSON"
}

// jsonError turns a decoding error into a *ParseError on its line.
func jsonError(err error, lines lineIndex) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &ParseError{Line: lines.at(int(se.Offset)), Message: "invalid JSON: " + jsonMessage(err)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &ParseError{Line: lines.count(), Message: "invalid JSON: the file ends before the array is closed with ]"}
	}
	return &ParseError{Message: "invalid JSON: " + jsonMessage(err)}
}

// jsonMessage is a decoding error's message without Go's package prefix.
func jsonMessage(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends too early (a bracket or quote is not closed)"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// skipSpace returns the offset of the first byte at or after off that is
// neither JSON whitespace nor a comma.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineIndex finds the line of a byte offset.
type lineIndex []int // offsets of the '\n' bytes

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i)
		}
	}
	return idx
}

// at is the 1-based line of offset off.
func (l lineIndex) at(off int) int {
	return sort.SearchInts(l, off) + 1
}

// count is the number of the last line.
func (l lineIndex) count() int { return len(l) + 1 }
