package models

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// metaType is the type whose values are bounded by MaxMetaBytes.
var metaType = reflect.TypeFor[Meta]()

// maxWalkDepth bounds how deep checkValues descends (deeper than any JSON a
// request can decode into), so a cyclic value cannot recurse forever.
const maxWalkDepth = 20000

// checkValues walks v — a struct or a pointer to one — and adds to fields a
// message for every field that holds text PostgreSQL cannot store or that is
// too large, wherever the text is: string fields, slices, arrays and maps of
// them (keys too), meta values, and structs within, embedded ones included,
// exported or not. Fields tagged json:"-" (or form:"-") are skipped, as no
// client sets them. A field is named as the validator names it (its form or
// json name), nested ones by their path, such as "messages[1].text"; a field
// that already has a message keeps it. The checks are:
//
//   - no NUL character (PostgreSQL's text and jsonb refuse it);
//   - valid UTF-8 (PostgreSQL refuses anything else);
//   - a Meta's JSON at most MaxMetaBytes.
//
// Values read through unexported fields cannot be turned back into
// interfaces (reflect panics), so the walk reads them with the getter of
// their kind, and meta is measured from a plain copy (see plainValue).
func checkValues(v reflect.Value, fields map[string]string) {
	w := walker{fields: fields}
	w.value(v, "", 0)
}

// walker carries the messages found so far.
type walker struct {
	fields map[string]string
}

// add records a message for path unless it already has one.
func (w walker) add(path, problem string) {
	if path == "" {
		path = "body"
	}
	if _, seen := w.fields[path]; seen {
		return
	}
	w.fields[path] = Label(leafName(path)) + problem
}

// value checks one value found at path.
func (w walker) value(v reflect.Value, path string, depth int) {
	if !v.IsValid() || depth > maxWalkDepth {
		return
	}
	if _, seen := w.fields[path]; seen && path != "" {
		return // one message per field is enough
	}
	switch v.Kind() {
	case reflect.String:
		if problem := textProblem(v.String()); problem != "" {
			w.add(path, problem)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			w.value(v.Elem(), path, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes, not text
		}
		structs := isStruct(v.Type().Elem())
		for i := 0; i < v.Len(); i++ {
			p := path
			if structs {
				p = path + "[" + strconv.Itoa(i) + "]"
			}
			w.value(v.Index(i), p, depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			w.value(it.Key(), path, depth+1)
			w.value(it.Value(), path, depth+1)
		}
	case reflect.Struct:
		w.fieldsOf(v, path, depth)
	}
}

// fieldsOf checks the fields of a struct at path.
func (w walker) fieldsOf(v reflect.Value, path string, depth int) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue // private state (time.Time's, say), not input
		}
		name, skip := fieldName(f)
		if skip {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous && isStruct(f.Type) {
			// Embedded: its fields are the outer struct's, as in JSON.
			w.value(fv, path, depth+1)
			continue
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		if f.Type == metaType {
			if problem := metaSize(fv); problem != "" {
				w.add(p, problem)
				continue
			}
		}
		w.value(fv, p, depth+1)
	}
}

// isStruct reports whether t is a struct or a pointer to one.
func isStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

// textProblem says what is wrong with a text, as the end of a sentence that
// starts with the field's label, or "".
func textProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return ` must not contain NUL characters (\u0000).`
	case !utf8.ValidString(s):
		return " must be valid UTF-8 text."
	}
	return ""
}

// metaSize checks the size of a meta's JSON against MaxMetaBytes and
// returns the problem or "".
func metaSize(v reflect.Value) string {
	limit := MaxMetaBytes
	if v.Len() == 0 {
		return ""
	}
	b, err := json.Marshal(plainValue(v, 0))
	if err != nil || len(b) <= limit {
		return "" // what cannot be encoded fails when stored, with its own error
	}
	return fmt.Sprintf(" must be at most %d bytes.", limit)
}

// plainValue rebuilds v from the getters of its kind — strings, numbers,
// booleans, and maps, slices and structs of them — so that json.Marshal can
// measure it even when v was read through an unexported field, whose
// Interface() panics. Values of other kinds (funcs, channels) become nil.
func plainValue(v reflect.Value, depth int) any {
	if !v.IsValid() || depth > maxWalkDepth {
		return nil
	}
	if v.CanInterface() {
		return v.Interface()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plainValue(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return b
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plainValue(v.Index(i), depth+1)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[fmt.Sprint(plainValue(it.Key(), depth+1))] = plainValue(it.Value(), depth+1)
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" {
					continue
				}
				if name == "" {
					name = f.Name
				}
				out[name] = plainValue(v.Field(i), depth+1)
			}
		}
		return out
	}
	return nil
}

// leafName is the last part of a field path ("messages[1].text" → "text").
func leafName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

// CheckText returns an invalid-input error on field when s holds text
// PostgreSQL cannot store (a NUL character, invalid UTF-8), or nil. It is for
// inputs that reach the database without passing through Validate, such as a
// search box's query string; label names the input in the message.
func CheckText(field, label, s string) error {
	if problem := textProblem(s); problem != "" {
		return FieldError(field, label+problem)
	}
	return nil
}
