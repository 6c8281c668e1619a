package models

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// Validator returns the shared validator. Field names in its errors are the
// fields' JSON names (or form names), so messages can sit next to form inputs.
func Validator() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _ := fieldName(f)
			return name
		})
	})
	return validate
}

// fieldName is the name a struct field has in forms and JSON: its form tag,
// else its json tag, else its Go name; skip is true for a field tagged "-",
// which no client can set.
func fieldName(f reflect.StructField) (name string, skip bool) {
	for _, tag := range []string{"form", "json"} {
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name == "-" {
			return "", true
		}
		if name != "" {
			return name, false
		}
	}
	return f.Name, false
}

// Validate checks v against its `validate` tags, then checks every text in it
// (see checkValues: no NUL characters, valid UTF-8, meta within its size), and
// returns an invalid-input *Error with one readable message per failing field,
// or nil.
func Validate(v any) error {
	out := &Error{Code: CodeInvalid, Fields: map[string]string{}}
	if err := Validator().Struct(v); err != nil {
		var verrs validator.ValidationErrors
		if !errors.As(err, &verrs) {
			return Errorf(CodeInvalid, "Invalid input: %v", err)
		}
		for _, fe := range verrs {
			name := fieldPath(fe)
			if _, seen := out.Fields[name]; seen {
				continue
			}
			out.Fields[name] = fieldMessage(fe)
		}
	}
	checkValues(reflect.ValueOf(v), out.Fields)
	if len(out.Fields) == 0 {
		return nil
	}
	out.Message = summary(out.Fields)
	return out
}

// fieldPath names a failing field by its form or JSON name; within a list, by
// its path from the list on ("messages[1].type"), as checkValues names it, so
// it is clear which item is meant.
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	i := strings.IndexByte(ns, '[')
	if i < 0 {
		return fe.Field()
	}
	return ns[strings.LastIndexByte(ns[:i], '.')+1:]
}

// summary joins field messages into one sentence list, in a stable order.
func summary(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	msgs := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs = append(msgs, fields[k])
	}
	return strings.Join(msgs, " ")
}

// Label turns a field name such as "searchMaxRecords" or "match_instruction" into "Search max records".
func Label(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || r == '-':
			b.WriteRune(' ')
		case r >= 'A' && r <= 'Z' && i > 0:
			b.WriteRune(' ')
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, " id", " ID")
	return strings.ToUpper(s[:1]) + s[1:]
}

func fieldMessage(fe validator.FieldError) string {
	label := Label(fe.Field())
	switch fe.Tag() {
	case "required":
		if strings.Contains(strings.ToLower(fe.Field()), "confirm") {
			return "Type the password again to confirm it."
		}
		return label + " is required."
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("%s must be at most %s characters.", label, fe.Param())
		}
		return fmt.Sprintf("%s must be at most %s.", label, fe.Param())
	case "min":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("%s must be at least %s characters.", label, fe.Param())
		}
		return fmt.Sprintf("%s must be at least %s.", label, fe.Param())
	case "email":
		return label + " must be a valid email address."
	case "oneof":
		return fmt.Sprintf("%s must be one of: %s.", label, strings.ReplaceAll(fe.Param(), " ", ", "))
	case "uuid", "uuid4", "uuid_rfc4122":
		return label + " must be a valid id."
	case "eqfield":
		if strings.Contains(strings.ToLower(fe.Field()), "confirm") {
			return "The two passwords differ: type the same password in both fields."
		}
		return fmt.Sprintf("%s must match %s.", label, strings.ToLower(Label(fe.Param())))
	case "alphanumunicode", "slug":
		return label + " may contain only letters, digits, dashes and underscores."
	default:
		return fmt.Sprintf("%s is not valid (%s).", label, fe.Tag())
	}
}
