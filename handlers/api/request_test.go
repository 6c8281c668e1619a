package api

import (
	"reflect"
	"testing"
)

// TestEmbeddedNamesKnown makes sure every request struct embedded in another
// is listed in embedded, so error messages name fields as clients wrote them.
func TestEmbeddedNamesKnown(t *testing.T) {
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if f.Anonymous && !embedded[f.Type.Name()] {
				t.Errorf("%s embeds %s, which is missing from embedded", rt.Name(), f.Type.Name())
			}
			walk(f.Type)
		}
	}
	for _, r := range (&API{}).table() {
		if r.Request != nil {
			walk(reflect.TypeOf(r.Request))
		}
	}
}

func TestJSONPath(t *testing.T) {
	for in, want := range map[string]string{
		"updateDatasetRequest.name":              "name",
		"conversationRequest.configFields.model": "model",
		"messages.type":                          "messages.type",
		"text":                                   "text",
	} {
		if got := jsonPath(in); got != want {
			t.Errorf("jsonPath(%q) = %q, want %q", in, got, want)
		}
	}
}
