package handlers

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// registerOperators registers the operators routes (admins only).
func (s *Server) registerOperators() {
	s.handle(fiber.MethodGet, "/operators", models.PermAdmin, s.handleOperatorIndex)
	s.handle(fiber.MethodGet, "/operators/new", models.PermAdmin, s.handleOperatorNew)
	s.handle(fiber.MethodPost, "/operators", models.PermAdmin, s.handleOperatorCreate)
	s.handle(fiber.MethodGet, "/operators/:id/edit", models.PermAdmin, s.handleOperatorEdit)
	s.handle(fiber.MethodPost, "/operators/:id", models.PermAdmin, s.handleOperatorUpdate)
	s.handle(fiber.MethodGet, "/operators/:id/delete", models.PermAdmin, s.handleOperatorDeleteConfirm)
	s.handle(fiber.MethodPost, "/operators/:id/delete", models.PermAdmin, s.handleOperatorDelete)
}

// operatorForm is the body of the new and edit operator forms. Password is
// required when creating; when editing, blank keeps the current one.
type operatorForm struct {
	Email    string `form:"email" validate:"required,max=254,email"`
	Name     string `form:"name" validate:"max=200"`
	Role     string `form:"role" validate:"required,oneof=admin builder qa support"`
	Password string `form:"password"`
	Disabled bool   `form:"disabled"`
}

type operatorFormPage struct {
	Page
	Form     operatorForm
	Errors   map[string]string
	Action   string
	Edited   *models.Operator // nil on the new form
	Self     bool             // the admin is editing their own account
	Password string           // the password hint
}

type operatorIndexPage struct {
	Page
	Operators []models.Operator
	Next      string
	Cursor    string
}

// errSelfDelete refuses to let an admin delete the account they are signed in with.
var errSelfDelete = models.Errorf(models.CodeForbidden, "You cannot delete your own account: ask another admin to do it.")

// handleOperatorIndex handles GET /operators.
func (s *Server) handleOperatorIndex(c *fiber.Ctx) error {
	p, err := listPage(c)
	if err != nil {
		return err
	}
	ops, next, err := s.store.FindOperators(c.UserContext(), p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, tplOperatorsIndex, operatorIndexPage{Page: s.page(c, "Operators", "operators"),
		Operators: ops, Next: next, Cursor: p.Cursor})
}

// handleOperatorNew handles GET /operators/new.
func (s *Server) handleOperatorNew(c *fiber.Ctx) error {
	return s.renderOperatorForm(c, fiber.StatusOK, nil, operatorForm{Role: models.RoleSupport}, nil)
}

// renderOperatorForm renders the new (o nil) or edit form. The password typed is never sent back.
func (s *Server) renderOperatorForm(c *fiber.Ctx, status int, o *models.Operator, f operatorForm, errs map[string]string) error {
	f.Password = ""
	d := operatorFormPage{Form: f, Errors: errs, Action: "/operators", Edited: o,
		Password: fmt.Sprintf("Use at least %d characters.", models.MinPasswordLength)}
	title := "New operator"
	if o != nil {
		title, d.Action = "Edit "+o.Email, "/operators/"+o.ID
		d.Self = o.ID == operator(c).ID
		d.Password = fmt.Sprintf("Leave blank to keep the current password. A new one needs at least %d characters and signs the operator out everywhere.", models.MinPasswordLength)
	}
	d.Page = s.page(c, title, "operators")
	return s.render(c, status, tplOperatorsForm, d)
}

// check trims and validates the form; the password is required when creating
// and checked when given.
func (f *operatorForm) check(create bool) error {
	f.Email = strings.TrimSpace(f.Email)
	f.Name = strings.TrimSpace(f.Name)
	fields := models.ErrorFields(models.Validate(f))
	if create || f.Password != "" {
		if err := models.CheckPassword("password", f.Password); err != nil {
			if fields == nil {
				fields = map[string]string{}
			}
			fields["password"] = models.ErrorMessage(err)
		}
	}
	if len(fields) > 0 {
		return &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: fields}
	}
	return nil
}

// operatorFormError re-renders the form for errors the operator can fix there:
// field errors (422) and conflicts such as "last active admin" (409).
func (s *Server) operatorFormError(c *fiber.Ctx, o *models.Operator, f operatorForm, err error) error {
	if fields := models.ErrorFields(err); fields != nil {
		return s.renderOperatorForm(c, fiber.StatusUnprocessableEntity, o, f, fields)
	}
	if models.ErrorCode(err) == models.CodeConflict {
		return s.renderOperatorForm(c, fiber.StatusConflict, o, f, map[string]string{"form": models.ErrorMessage(err)})
	}
	return err
}

// handleOperatorCreate handles POST /operators.
func (s *Server) handleOperatorCreate(c *fiber.Ctx) error {
	var f operatorForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err := f.check(true)
	if err == nil {
		var o *models.Operator
		o, err = s.store.CreateOperator(c.UserContext(), models.Operator{Email: f.Email, Name: f.Name, Role: f.Role}, f.Password)
		if err == nil {
			setFlash(c, fmt.Sprintf("Operator %s created. Give them their password through a safe channel.", o.Email))
			return redirect(c, "/operators")
		}
	}
	return s.operatorFormError(c, nil, f, err)
}

// handleOperatorEdit handles GET /operators/:id/edit.
func (s *Server) handleOperatorEdit(c *fiber.Ctx) error {
	o, err := s.store.FindOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	f := operatorForm{Email: o.Email, Name: o.Name, Role: o.Role, Disabled: o.Disabled}
	return s.renderOperatorForm(c, fiber.StatusOK, o, f, nil)
}

// handleOperatorUpdate handles POST /operators/:id.
func (s *Server) handleOperatorUpdate(c *fiber.Ctx) error {
	o, err := s.store.FindOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	var f operatorForm
	if err := c.BodyParser(&f); err != nil {
		return badForm(err)
	}
	err = f.check(false)
	if err == nil {
		upd := models.Operator{ID: o.ID, Email: f.Email, Name: f.Name, Role: f.Role, Disabled: f.Disabled}
		var saved *models.Operator
		saved, err = s.store.UpdateOperator(c.UserContext(), upd, f.Password)
		if err == nil {
			return s.operatorSaved(c, saved, f.Password != "")
		}
	}
	return s.operatorFormError(c, o, f, err)
}

// operatorSaved leaves the admin somewhere sensible after a save: an admin who
// changed their own password stays signed in (the store ended every session),
// and one who gave up their own admin role or access goes home.
func (s *Server) operatorSaved(c *fiber.Ctx, o *models.Operator, newPassword bool) error {
	if o.ID != operator(c).ID {
		setFlash(c, fmt.Sprintf("Operator %s saved.", o.Email))
		return redirect(c, "/operators")
	}
	switch {
	case o.Disabled:
		setFlash(c, "Your account is disabled: you are signed out.")
		return redirect(c, "/login")
	case newPassword:
		if err := s.signIn(c, o.ID); err != nil {
			return err
		}
	}
	if o.Role != models.RoleAdmin {
		setFlash(c, "Your account is saved. You are no longer an admin.")
		return redirect(c, "/")
	}
	setFlash(c, "Your account is saved.")
	return redirect(c, "/operators")
}

// handleOperatorDeleteConfirm handles GET /operators/:id/delete.
func (s *Server) handleOperatorDeleteConfirm(c *fiber.Ctx) error {
	o, err := s.store.FindOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if o.ID == operator(c).ID {
		return errSelfDelete
	}
	return s.render(c, fiber.StatusOK, tplConfirm, confirmPage{
		Page: s.page(c, "Delete "+o.Email, "operators"), Heading: fmt.Sprintf("Delete operator %s?", o.Email),
		Body: []string{"They are signed out at once and can no longer sign in. This cannot be undone.",
			"API secrets they created keep working until revoked. To keep the account but block it, disable it instead."},
		Action: "/operators/" + o.ID + "/delete", Button: "Delete operator", Cancel: "/operators/" + o.ID + "/edit",
	})
}

// handleOperatorDelete handles POST /operators/:id/delete.
func (s *Server) handleOperatorDelete(c *fiber.Ctx) error {
	o, err := s.store.FindOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if o.ID == operator(c).ID {
		return errSelfDelete
	}
	if err := s.store.DeleteOperator(c.UserContext(), o.ID); err != nil {
		return err
	}
	setFlash(c, fmt.Sprintf("Operator %s deleted.", o.Email))
	return redirect(c, "/operators")
}
