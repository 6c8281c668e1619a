package models_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
)

// Request-like structs as the API has them: an unexported struct embedded in
// an exported one, and a list of structs with text and meta.
type (
	innerFields struct {
		Name *string     `json:"name"`
		Meta models.Meta `json:"meta"`
	}
	message struct {
		Text string      `json:"text"`
		Meta models.Meta `json:"meta"`
	}
	request struct {
		innerFields
		Messages []message        `json:"messages"`
		Filter   map[string]any   `json:"filter"`
		Tags     []string         `json:"tags"`
		Any      any              `json:"any"`
		Hidden   string           `json:"-"`
		Form     string           `form:"match_instruction"`
		Raw      []byte           `json:"raw"`
		Nested   *message         `json:"nested"`
		Metas    []models.Meta    `json:"metas"`
		ByName   map[string]*bool `json:"byName"`
	}
)

// listRequest validates the items of a list.
type (
	typedMessage struct {
		Type string `json:"type" validate:"required,oneof=user bot"`
		Text string `json:"text"`
	}
	listRequest struct {
		Messages []typedMessage `json:"messages" validate:"dive"`
	}
)

const (
	nulMsg  = ` must not contain NUL characters (\u0000).`
	utf8Msg = " must be valid UTF-8 text."
)

// bigMeta is a meta whose JSON is n bytes long.
func bigMeta(n int) models.Meta {
	pad := n - len(`{"big":""}`)
	return models.Meta{"big": strings.Repeat("m", pad)}
}

func TestValidateText(t *testing.T) {
	bad := "a\x00b"
	for _, tc := range []struct {
		name string
		v    any
		want map[string]string // nil: valid
	}{
		{"BotOK", &models.Bot{Name: "Söpport 🤖", Backstory: "日本語", Meta: models.Meta{"k": "ü", "n": []any{1.0, "x"}}}, nil},
		{"ErrBotNameNUL", &models.Bot{Name: bad}, map[string]string{"name": "Name" + nulMsg}},
		{"ErrBotBackstoryInvalidUTF8", &models.Bot{Backstory: "caf\xe9"}, map[string]string{"backstory": "Backstory" + utf8Msg}},
		{"ErrBotAliasNUL", &models.Bot{Alias: ptr(bad)}, map[string]string{"alias": "Alias" + nulMsg}},
		{"ErrBotMetaValueNUL", &models.Bot{Meta: models.Meta{"k": bad}}, map[string]string{"meta": "Meta" + nulMsg}},
		{"ErrBotMetaKeyNUL", &models.Bot{Meta: models.Meta{bad: "v"}}, map[string]string{"meta": "Meta" + nulMsg}},
		{"ErrBotMetaNestedNUL", &models.Bot{Meta: models.Meta{"l": []any{"ok", map[string]any{"deep": bad}}}}, map[string]string{"meta": "Meta" + nulMsg}},
		{"ErrBotMetaNestedInvalidUTF8", &models.Bot{Meta: models.Meta{"l": []any{"\xff"}}}, map[string]string{"meta": "Meta" + utf8Msg}},
		{"ErrBotSeveralFields", &models.Bot{Name: bad, Description: "\xff", Model: strings.Repeat("m", 201) + bad},
			map[string]string{"name": "Name" + nulMsg, "description": "Description" + utf8Msg, "model": "Model must be at most 200 characters."}},
		{"BotRelationsSkipped", &models.Bot{Datasets: []models.Dataset{{Name: bad}}}, nil},
		{"VaultValueSkipped", &models.VaultSecret{Name: "K", ValueEnc: bad}, nil},
		{"ErrDatasetInstruction", &models.Dataset{MismatchInstruction: bad}, map[string]string{"mismatchInstruction": "Mismatch instruction" + nulMsg}},
		{"ErrRecordSource", &models.DatasetRecord{Text: "t", Source: bad}, map[string]string{"source": "Source" + nulMsg}},
		{"ErrAbilityInstruction", &models.Ability{Name: "a", Instruction: bad}, map[string]string{"instruction": "Instruction" + nulMsg}},
		{"ErrConversationContactID", &models.Conversation{ContactID: ptr(bad)}, map[string]string{"contactId": "Contact ID" + nulMsg}},
		{"ErrMessageText", &models.Message{Type: models.MessageUser, Text: bad}, map[string]string{"text": "Text" + nulMsg}},
		{"ErrOperatorEmail", &models.Operator{Email: "a\x00@example.com", Role: models.RoleQA}, map[string]string{"email": "Email must be a valid email address."}},
		{"ErrOperatorName", &models.Operator{Email: "a@example.com", Name: bad, Role: models.RoleQA}, map[string]string{"name": "Name" + nulMsg}},

		{"RequestOK", &request{innerFields: innerFields{Name: ptr("n"), Meta: models.Meta{"a": "b"}}, Messages: []message{{Text: "hi"}}}, nil},
		{"ErrEmbeddedUnexported", &request{innerFields: innerFields{Name: ptr(bad)}}, map[string]string{"name": "Name" + nulMsg}},
		{"ErrEmbeddedUnexportedMeta", &request{innerFields: innerFields{Meta: models.Meta{"x": []any{bad}}}}, map[string]string{"meta": "Meta" + nulMsg}},
		{"ErrMessageInList", &request{Messages: []message{{Text: "ok"}, {Text: bad}}}, map[string]string{"messages[1].text": "Text" + nulMsg}},
		{"ErrMessageMetaInList", &request{Messages: []message{{Meta: models.Meta{"k": bad}}}}, map[string]string{"messages[0].meta": "Meta" + nulMsg}},
		{"ErrMapKey", &request{Filter: map[string]any{bad: 1.0}}, map[string]string{"filter": "Filter" + nulMsg}},
		{"ErrStringList", &request{Tags: []string{"a", "\xfe"}}, map[string]string{"tags": "Tags" + utf8Msg}},
		{"ErrAny", &request{Any: []any{bad}}, map[string]string{"any": "Any" + nulMsg}},
		{"HiddenSkipped", &request{Hidden: bad}, nil},
		{"ErrFormName", &request{Form: bad}, map[string]string{"match_instruction": "Match instruction" + nulMsg}},
		{"BytesAreNotText", &request{Raw: []byte{0, 0xff}}, nil},
		{"ErrPointerToStruct", &request{Nested: &message{Text: bad}}, map[string]string{"nested.text": "Text" + nulMsg}},
		{"ErrMetaList", &request{Metas: []models.Meta{{"k": bad}}}, map[string]string{"metas": "Metas" + nulMsg}},
		{"NilPointersOK", &request{ByName: map[string]*bool{"x": nil}}, nil},
		{"ValueNotPointer", request{Tags: []string{bad}}, map[string]string{"tags": "Tags" + nulMsg}},
		// The validator's errors within a list are named by path too.
		{"ErrValidatorInList", &listRequest{Messages: []typedMessage{{Type: "user"}, {Type: "shout", Text: bad}}},
			map[string]string{"messages[1].type": "Type must be one of: user, bot.", "messages[1].text": "Text" + nulMsg}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := models.Validate(tc.v)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if got := models.ErrorCode(err); got != models.CodeInvalid {
				t.Fatalf("code = %q, want %q (err: %v)", got, models.CodeInvalid, err)
			}
			if diff := cmp.Diff(tc.want, models.ErrorFields(err)); diff != "" {
				t.Errorf("Fields (-want +got):\n%s", diff)
			}
			if models.ErrorMessage(err) == "" {
				t.Error("no message")
			}
		})
	}
}

func TestValidateMetaSize(t *testing.T) {
	tooBig := "Meta must be at most 16384 bytes."
	for _, tc := range []struct {
		name string
		v    any
		want map[string]string
	}{
		{"BotAtLimit", &models.Bot{Meta: bigMeta(models.MaxMetaBytes)}, nil},
		{"ErrBotOverLimit", &models.Bot{Meta: bigMeta(models.MaxMetaBytes + 1)}, map[string]string{"meta": tooBig}},
		{"ErrDataset", &models.Dataset{Meta: bigMeta(17000)}, map[string]string{"meta": tooBig}},
		{"ErrRecord", &models.DatasetRecord{Text: "t", Meta: bigMeta(17000)}, map[string]string{"meta": tooBig}},
		{"ErrSkillset", &models.Skillset{Meta: bigMeta(17000)}, map[string]string{"meta": tooBig}},
		{"ErrAbility", &models.Ability{Name: "a", Meta: bigMeta(17000)}, map[string]string{"meta": tooBig}},
		{"ErrConversation", &models.Conversation{Meta: bigMeta(17000)}, map[string]string{"meta": tooBig}},
		// What explains a turn is in typed turn tables, so messages are bounded like the rest.
		{"ErrMessage", &models.Message{Type: models.MessageActivity, Meta: bigMeta(17000)}, map[string]string{"meta": tooBig}},
		{"ErrEmbeddedUnexported", &request{innerFields: innerFields{Meta: bigMeta(17000)}}, map[string]string{"meta": tooBig}},
		{"ErrEmbeddedUnexportedNested", &request{innerFields: innerFields{Meta: models.Meta{"l": []any{map[string]any{"s": strings.Repeat("x", 17000)}}, "n": 1.5, "b": true}}},
			map[string]string{"meta": tooBig}},
		{"ErrInList", &request{Messages: []message{{}, {Meta: bigMeta(17000)}}}, map[string]string{"messages[1].meta": tooBig}},
		{"ErrSizeBeforeNUL", &models.Bot{Meta: models.Meta{"a": strings.Repeat("\x00", 17000)}}, map[string]string{"meta": tooBig}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := models.Validate(tc.v)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, models.ErrorFields(err)); diff != "" {
				t.Errorf("Fields (-want +got):\n%s", diff)
			}
		})
	}
}
