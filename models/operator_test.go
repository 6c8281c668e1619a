package models_test

import (
	"strings"
	"testing"

	"parley/models"
)

var allPermissions = []models.Permission{
	models.PermConfigRead, models.PermBotHistory, models.PermConfigWrite, models.PermConversationRead, models.PermConversationRun,
	models.PermConversationRate, models.PermConversationWrite, models.PermSessionManage, models.PermAdmin,
}

func TestRoleCan(t *testing.T) {
	// The whole matrix, so a permission granted by mistake fails as surely as one taken away.
	want := map[string][]models.Permission{
		models.RoleAdmin: allPermissions,
		models.RoleBuilder: {models.PermConfigRead, models.PermBotHistory, models.PermConfigWrite, models.PermConversationRead,
			models.PermConversationRun, models.PermConversationRate, models.PermConversationWrite, models.PermSessionManage},
		models.RoleQA:      {models.PermConfigRead, models.PermBotHistory, models.PermConversationRead, models.PermConversationRun, models.PermConversationRate},
		models.RoleSupport: {models.PermBotHistory, models.PermConversationRead, models.PermConversationRate},
		"":                 nil,
		"owner":            nil,
		"Admin":            nil,
	}
	for role, perms := range want {
		granted := map[models.Permission]bool{}
		for _, p := range perms {
			granted[p] = true
		}
		for _, p := range allPermissions {
			if got := models.RoleCan(role, p); got != granted[p] {
				t.Errorf("RoleCan(%q, %q) = %v, want %v", role, p, got, granted[p])
			}
		}
		if models.RoleCan(role, "unknown:perm") {
			t.Errorf("RoleCan(%q, unknown) = true, want false", role)
		}
	}
	for _, role := range models.Roles {
		if _, ok := want[role]; !ok {
			t.Errorf("role %q has no row in this test's matrix", role)
		}
	}
}

func TestOperatorCan(t *testing.T) {
	admin := &models.Operator{Role: models.RoleAdmin}
	if !admin.Can(models.PermAdmin) {
		t.Error("admin cannot do admin")
	}
	disabled := &models.Operator{Role: models.RoleAdmin, Disabled: true}
	for _, p := range allPermissions {
		if disabled.Can(p) {
			t.Errorf("disabled admin can %q, want nothing", p)
		}
	}
	var none *models.Operator
	if none.Can(models.PermConfigRead) {
		t.Error("nil operator can read config, want nothing")
	}
	support := &models.Operator{Role: models.RoleSupport}
	if support.Can(models.PermConfigWrite) {
		t.Error("support can write config")
	}
}

func TestDisplayName(t *testing.T) {
	if got := (&models.Operator{Name: "Ann", Email: "ann@example.com"}).DisplayName(); got != "Ann" {
		t.Errorf("DisplayName = %q, want Ann", got)
	}
	if got := (&models.Operator{Email: "ann@example.com"}).DisplayName(); got != "ann@example.com" {
		t.Errorf("DisplayName = %q, want the email", got)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":      "ann@example.com",
		"  Ann@Example.COM \n": "ann@example.com",
		"":                     "",
		"ÉLODIE@example.com":   "élodie@example.com",
	} {
		if got := models.NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pw     string
		wantOK bool
	}{
		{"ErrEmpty", "", false},
		{"ErrTooShort", strings.Repeat("p", models.MinPasswordLength-1), false},
		{"MinLength", strings.Repeat("p", models.MinPasswordLength), true},
		{"MaxLength", strings.Repeat("p", models.MaxPasswordLength), true},
		{"ErrTooLong", strings.Repeat("p", models.MaxPasswordLength+1), false},
		// bcrypt reads bytes: 37 two-byte characters are 74 bytes.
		{"ErrTooLongMultibyte", strings.Repeat("é", 37), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := models.CheckPassword("newPassword", tc.pw)
			if tc.wantOK {
				if err != nil {
					t.Errorf("CheckPassword = %v, want nil", err)
				}
				return
			}
			if code := models.ErrorCode(err); code != models.CodeInvalid {
				t.Fatalf("code = %q, want %q", code, models.CodeInvalid)
			}
			if models.ErrorFields(err)["newPassword"] == "" {
				t.Errorf("Fields = %v, want a message for newPassword", models.ErrorFields(err))
			}
		})
	}
}
