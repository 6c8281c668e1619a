package models_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    interface{ Validate() error }
		want map[string]string // nil: valid
	}{
		{"BotOK", &models.Bot{Name: "Support", Visibility: models.VisibilityPublic}, nil},
		{"BotEmptyIsValid", &models.Bot{}, nil},
		{"BotNameOf200Characters", &models.Bot{Name: strings.Repeat("é", 200)}, nil},
		{"ErrBotNameTooLong", &models.Bot{Name: strings.Repeat("a", 201)},
			map[string]string{"name": "Name must be at most 200 characters."}},
		{"ErrBotNameTooLongMultibyte", &models.Bot{Name: strings.Repeat("é", 201)},
			map[string]string{"name": "Name must be at most 200 characters."}},
		{"ErrBotAliasTooLong", &models.Bot{Alias: ptr(strings.Repeat("a", 101))},
			map[string]string{"alias": "Alias must be at most 100 characters."}},
		{"ErrBotVisibility", &models.Bot{Visibility: "secret"},
			map[string]string{"visibility": "Visibility must be one of: private, protected, public."}},
		{"ErrBotSeveralFields", &models.Bot{Name: strings.Repeat("a", 201), Model: strings.Repeat("m", 201)},
			map[string]string{"name": "Name must be at most 200 characters.", "model": "Model must be at most 200 characters."}},
		{"DatasetDefaultsOK", ptr(models.NewDataset()), nil},
		{"ErrDatasetSearchMinScore", &models.Dataset{SearchMinScore: 1.5},
			map[string]string{"searchMinScore": "Search min score must be at most 1."}},
		{"ErrDatasetRecordMaxTokens", &models.Dataset{RecordMaxTokens: -1},
			map[string]string{"recordMaxTokens": "Record max tokens must be at least 0."}},
		{"ErrDatasetSearchMaxRecords", &models.Dataset{SearchMaxRecords: 101},
			map[string]string{"searchMaxRecords": "Search max records must be at most 100."}},
		{"ErrDatasetMatchInstruction", &models.Dataset{MatchInstruction: strings.Repeat("m", 4001)},
			map[string]string{"matchInstruction": "Match instruction must be at most 4000 characters."}},
		{"ErrRecordTextRequired", &models.DatasetRecord{},
			map[string]string{"text": "Text is required."}},
		{"ErrSkillsetVisibility", &models.Skillset{Visibility: "all"},
			map[string]string{"visibility": "Visibility must be one of: private, protected, public."}},
		{"ErrAbilityNameRequired", &models.Ability{},
			map[string]string{"name": "Name is required."}},
		{"ErrAbilityBotIDTooLong", &models.Ability{Name: "x", BotID: ptr(strings.Repeat("b", 37))},
			map[string]string{"botId": "Bot ID must be at most 36 characters."}},
		{"ConversationOK", &models.Conversation{Name: "Chat", ContactID: ptr("c-1")}, nil},
		{"ErrConversationContactID", &models.Conversation{ContactID: ptr(strings.Repeat("c", 101))},
			map[string]string{"contactId": "Contact ID must be at most 100 characters."}},
		{"MessageOK", &models.Message{Type: models.MessageCheckpoint}, nil},
		{"ErrMessageTypeRequired", &models.Message{},
			map[string]string{"type": "Type is required."}},
		{"ErrMessageTypeUnknown", &models.Message{Type: "shout"},
			map[string]string{"type": "Type must be one of: user, bot, reasoning, context, instruction, backstory, activity, checkpoint."}},
		{"OperatorOK", &models.Operator{Email: "ann@example.com", Role: models.RoleQA}, nil},
		{"ErrOperatorEmpty", &models.Operator{},
			map[string]string{"email": "Email is required.", "role": "Role is required."}},
		{"ErrOperatorEmail", &models.Operator{Email: "ann", Role: models.RoleQA},
			map[string]string{"email": "Email must be a valid email address."}},
		{"ErrOperatorRole", &models.Operator{Email: "ann@example.com", Role: "owner"},
			map[string]string{"role": "Role must be one of: admin, builder, qa, support."}},
		{"ErrSecretNameRequired", &models.APISecret{},
			map[string]string{"name": "Name is required."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate()
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
		})
	}
}

func TestValidateMessage(t *testing.T) {
	// The message lists the field messages in the order of the field names.
	err := (&models.Operator{Name: strings.Repeat("n", 201)}).Validate()
	want := "Email is required. Name must be at most 200 characters. Role is required."
	if got := models.ErrorMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestValidateAllMessageTypes(t *testing.T) {
	for _, typ := range models.MessageTypes {
		t.Run(typ, func(t *testing.T) {
			if err := (&models.Message{Type: typ}).Validate(); err != nil {
				t.Errorf("Validate(type %q) = %v, want nil", typ, err)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"name", "Name"},
		{"searchMaxRecords", "Search max records"},
		{"match_instruction", "Match instruction"},
		{"x-y", "X y"},
		{"botId", "Bot ID"},
		{"datasetIds", "Dataset IDs"},
		{"", ""},
	} {
		name := tc.in
		if name == "" {
			name = "Empty"
		}
		t.Run(name, func(t *testing.T) {
			if got := models.Label(tc.in); got != tc.want {
				t.Errorf("Label(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
