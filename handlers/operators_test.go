package handlers

import (
	"context"
	"net/url"
	"testing"

	"parley/models"
)

// operatorCount counts every operator (the test apps have a handful).
func operatorCount(t *testing.T, a *testApp) int {
	t.Helper()
	ops, _, err := a.store.FindOperators(context.Background(), models.Page{Limit: models.MaxPageSize})
	if err != nil {
		t.Fatalf("FindOperators: %v", err)
	}
	return len(ops)
}

func TestOperatorPages(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		admin := a.as(models.RoleAdmin)
		t.Run("Index", func(t *testing.T) {
			r := admin.get("/operators")
			wantStatus(t, r, 200)
			wantBody(t, r, "<title>Operators · Parley</title>", "builder@example.com", `<span class="badge">support</span>`, "never", "New operator")
		})
		t.Run("New", func(t *testing.T) {
			r := admin.get("/operators/new")
			wantStatus(t, r, 200)
			wantBody(t, r, `<label for="f-email">`, `<label for="f-role">`, `<label for="f-password">`, "at least 10 characters",
				`<option value="admin">`, `<option value="support" selected>`, "Create operator")
		})
		t.Run("Edit", func(t *testing.T) {
			r := admin.get("/operators/" + a.ops[models.RoleQA].ID + "/edit")
			wantStatus(t, r, 200)
			wantBody(t, r, `value="qa@example.com"`, `<option value="qa" selected>`, `name="disabled" value="true"`,
				"Leave blank to keep the current password", "Save operator", "Delete operator")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantStatus(t, admin.get("/operators/"+models.NewID()+"/edit"), 404)
			wantStatus(t, admin.get("/operators/nope/edit"), 404)
		})
	})
}

func TestOperatorCreate(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		admin := a.as(models.RoleAdmin)
		t.Run("OK", func(t *testing.T) {
			r := admin.post("/operators", url.Values{"email": {" Grace@Example.com "}, "name": {"Grace"}, "role": {"qa"}, "password": {"a long enough password"}})
			wantStatus(t, r, 303)
			if r.Location() != "/operators" {
				t.Errorf("redirect = %q, want /operators", r.Location())
			}
			wantBody(t, admin.get("/operators"), "Operator grace@example.com created.", "grace@example.com")
			op, err := a.store.Authenticate(context.Background(), "grace@example.com", "a long enough password")
			if err != nil {
				t.Fatalf("the new operator cannot sign in: %v", err)
			}
			if op.Role != models.RoleQA || op.Name != "Grace" {
				t.Errorf("created %+v, want role qa, name Grace", op)
			}
		})
		t.Run("ErrDuplicateEmail", func(t *testing.T) {
			before := operatorCount(t, a)
			r := admin.post("/operators", url.Values{"email": {"BUILDER@example.com"}, "name": {"Imposter"}, "role": {"admin"}, "password": {"secret password 123"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-email">An operator with this email already exists.`, `value="BUILDER@example.com"`, `value="Imposter"`, `<option value="admin" selected>`)
			wantNoBody(t, r, "secret password 123")
			if got := operatorCount(t, a); got != before {
				t.Errorf("operators = %d, want %d: a refused form wrote one", got, before)
			}
		})
		t.Run("ErrPasswordTooShort", func(t *testing.T) {
			before := operatorCount(t, a)
			r := admin.post("/operators", url.Values{"email": {"short@example.com"}, "role": {"support"}, "password": {"short"}})
			wantStatus(t, r, 422)
			wantBody(t, r, `id="e-password">Password must be at least 10 characters.`, `value="short@example.com"`)
			if got := operatorCount(t, a); got != before {
				t.Errorf("operators = %d, want %d", got, before)
			}
		})
		t.Run("ErrInvalidFields", func(t *testing.T) {
			r := admin.post("/operators", url.Values{"email": {"not-an-email"}, "role": {"overlord"}, "password": {"long enough password"}})
			wantStatus(t, r, 422)
			wantBody(t, r, "Email must be a valid email address.", "Role must be one of: admin, builder, qa, support.")
			wantNoBody(t, r, "long enough password")
		})
		t.Run("ErrBuilderForbidden", func(t *testing.T) {
			b := a.as(models.RoleBuilder)
			wantStatus(t, b.get("/operators"), 403)
			wantStatus(t, b.get("/operators/new"), 403)
			before := operatorCount(t, a)
			r := b.post("/operators", url.Values{"email": {"sneaky@example.com"}, "role": {"admin"}, "password": {"a long enough password"}})
			wantStatus(t, r, 403)
			if got := operatorCount(t, a); got != before {
				t.Errorf("operators = %d, want %d: a builder created an operator", got, before)
			}
		})
		t.Run("ErrNoCSRF", func(t *testing.T) {
			r := admin.post("/operators", url.Values{"_csrf": {"forged"}, "email": {"csrf@example.com"}, "role": {"admin"}, "password": {"a long enough password"}})
			wantStatus(t, r, 403)
		})
	})
}

func TestOperatorUpdate(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		ctx := context.Background()
		admin := a.as(models.RoleAdmin)
		self := a.ops[models.RoleAdmin]
		t.Run("OKKeepsPassword", func(t *testing.T) {
			qa := a.ops[models.RoleQA]
			r := admin.post("/operators/"+qa.ID, url.Values{"email": {"qa@example.com"}, "name": {"Quinn"}, "role": {"builder"}, "password": {""}})
			wantStatus(t, r, 303)
			op, err := a.store.Authenticate(ctx, "qa@example.com", testPassword)
			if err != nil {
				t.Fatalf("a blank password changed it: %v", err)
			}
			if op.Name != "Quinn" || op.Role != models.RoleBuilder {
				t.Errorf("saved %+v, want Quinn, builder", op)
			}
		})
		t.Run("ErrDuplicateEmail", func(t *testing.T) {
			qa := a.ops[models.RoleQA]
			r := admin.post("/operators/"+qa.ID, url.Values{"email": {"Support@Example.com"}, "name": {"Quinn"}, "role": {"builder"}, "password": {"new password 123"}})
			wantStatus(t, r, 422)
			wantBody(t, r, "An operator with this email already exists.", `value="Support@Example.com"`)
			wantNoBody(t, r, "new password 123")
			if _, err := a.store.Authenticate(ctx, "qa@example.com", testPassword); err != nil {
				t.Errorf("a refused form changed the operator: %v", err)
			}
		})
		t.Run("ErrPasswordTooShort", func(t *testing.T) {
			qa := a.ops[models.RoleQA]
			r := admin.post("/operators/"+qa.ID, url.Values{"email": {"qa@example.com"}, "role": {"qa"}, "password": {"tiny"}})
			wantStatus(t, r, 422)
			wantBody(t, r, "Password must be at least 10 characters.")
		})
		t.Run("ErrDemoteLastAdmin", func(t *testing.T) {
			r := admin.post("/operators/"+self.ID, url.Values{"email": {self.Email}, "name": {"Admin"}, "role": {"builder"}})
			wantStatus(t, r, 409)
			wantBody(t, r, "This is the last active admin: make another operator admin first.", `<option value="builder" selected>`)
			op, err := a.store.FindOperator(ctx, self.ID)
			if err != nil {
				t.Fatal(err)
			}
			if op.Role != models.RoleAdmin {
				t.Errorf("role = %q, want admin", op.Role)
			}
		})
		t.Run("ErrDisableLastAdmin", func(t *testing.T) {
			r := admin.post("/operators/"+self.ID, url.Values{"email": {self.Email}, "role": {"admin"}, "disabled": {"true"}})
			wantStatus(t, r, 409)
			wantBody(t, r, "This is the last active admin")
			op, err := a.store.FindOperator(ctx, self.ID)
			if err != nil {
				t.Fatal(err)
			}
			if op.Disabled || op.Role != models.RoleAdmin {
				t.Errorf("operator = disabled %v, role %q; want an active admin", op.Disabled, op.Role)
			}
			wantStatus(t, admin.get("/operators"), 200)
		})
		t.Run("DisableSignsOut", func(t *testing.T) {
			sup := a.as(models.RoleSupport)
			wantStatus(t, sup.get("/conversations"), 200)
			op := a.ops[models.RoleSupport]
			r := admin.post("/operators/"+op.ID, url.Values{"email": {op.Email}, "role": {"support"}, "disabled": {"true"}})
			wantStatus(t, r, 303)
			wantBody(t, admin.get("/operators"), "Operator support@example.com saved.", `<span class="badge danger">disabled</span>`)
			r = sup.get("/conversations")
			wantStatus(t, r, 303)
			if r.Location() != "/login?next=%2Fconversations" {
				t.Errorf("redirect = %q, want the sign-in page", r.Location())
			}
		})
		t.Run("OwnPasswordKeepsSignedIn", func(t *testing.T) {
			r := admin.post("/operators/"+self.ID, url.Values{"email": {self.Email}, "name": {"Admin"}, "role": {"admin"}, "password": {"a brand new password"}})
			wantStatus(t, r, 303)
			wantStatus(t, admin.get("/operators"), 200)
			if _, err := a.store.Authenticate(ctx, self.Email, "a brand new password"); err != nil {
				t.Errorf("the new password does not work: %v", err)
			}
		})
	})
}

func TestOperatorDelete(t *testing.T) {
	eachApp(t, func(t *testing.T, a *testApp) {
		admin := a.as(models.RoleAdmin)
		self := a.ops[models.RoleAdmin]
		t.Run("ErrSelf", func(t *testing.T) {
			for _, r := range []*resp{admin.get("/operators/" + self.ID + "/delete"), admin.post("/operators/"+self.ID+"/delete", nil)} {
				wantStatus(t, r, 403)
				wantBody(t, r, "You cannot delete your own account")
			}
			if _, err := a.store.FindOperator(context.Background(), self.ID); err != nil {
				t.Errorf("the admin deleted their own account: %v", err)
			}
		})
		t.Run("ErrBuilderForbidden", func(t *testing.T) {
			r := a.as(models.RoleBuilder).post("/operators/"+a.ops[models.RoleQA].ID+"/delete", nil)
			wantStatus(t, r, 403)
		})
		t.Run("OK", func(t *testing.T) {
			qa := a.ops[models.RoleQA]
			c := a.as(models.RoleQA)
			r := admin.get("/operators/" + qa.ID + "/delete")
			wantStatus(t, r, 200)
			wantBody(t, r, "Delete operator qa@example.com?", "Delete operator", "Cancel")
			r = admin.post("/operators/"+qa.ID+"/delete", nil)
			wantStatus(t, r, 303)
			wantBody(t, admin.get("/operators"), "Operator qa@example.com deleted.")
			if _, err := a.store.FindOperator(context.Background(), qa.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("FindOperator after delete: %v, want not found", err)
			}
			wantStatus(t, c.get("/"), 303)
		})
	})
}
