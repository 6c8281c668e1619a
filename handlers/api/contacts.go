package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"parley/models"
)

// contactRequest is the body of contact/create, contact/{contactId}/update
// and contact/ensure, with ChatBotKit's field names. Absent fields are kept
// on update; ensure needs the fingerprint. Parley keeps no preferences or
// verification time: giving them is a clear error rather than a silent loss.
type contactRequest struct {
	Name        *string     `json:"name" validate:"omitempty,max=200"`
	Description *string     `json:"description" validate:"omitempty,max=4000"`
	Meta        models.Meta `json:"meta"`
	Fingerprint *string     `json:"fingerprint" validate:"omitempty,max=200"`
	Email       *string     `json:"email" validate:"omitempty,max=254"`
	Phone       *string     `json:"phone" validate:"omitempty,max=50"`
	Nick        *string     `json:"nick" validate:"omitempty,max=100"`
	Preferences *string     `json:"preferences"`
	VerifiedAt  *int64      `json:"verifiedAt"`
}

// contactJSON is a contact as the API shows it; firstSeenAt and lastSeenAt
// are Parley's extension.
type contactJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Meta        models.Meta `json:"meta"`
	CreatedAt   int64       `json:"createdAt"`
	UpdatedAt   int64       `json:"updatedAt"`
	Fingerprint string      `json:"fingerprint"`
	Email       string      `json:"email"`
	Phone       string      `json:"phone"`
	Nick        string      `json:"nick"`
	FirstSeenAt int64       `json:"firstSeenAt"`
	LastSeenAt  int64       `json:"lastSeenAt"`
}

// ensureResponse answers contact/ensure: the contact's id and (Parley's
// extension) whether this call created it.
type ensureResponse struct {
	ID      string `json:"id"`
	Created bool   `json:"created"`
}

func toContact(c *models.Contact) contactJSON {
	return contactJSON{ID: c.ID, Name: c.Name, Description: c.Description, Meta: meta(c.Meta),
		CreatedAt: ms(c.CreatedAt), UpdatedAt: ms(c.UpdatedAt), Fingerprint: c.Fingerprint, Email: c.Email,
		Phone: c.Phone, Nick: c.Nick, FirstSeenAt: ms(c.FirstSeenAt), LastSeenAt: ms(c.LastSeenAt)}
}

func (r *contactRequest) apply(c *models.Contact) error {
	if r.Preferences != nil && strings.TrimSpace(*r.Preferences) != "" {
		return models.FieldError("preferences", "Parley keeps no contact preferences: leave preferences out (meta holds your own data).")
	}
	if r.VerifiedAt != nil {
		return models.FieldError("verifiedAt", "Parley does not verify contacts: leave verifiedAt out.")
	}
	setStr(&c.Name, r.Name)
	setStr(&c.Description, r.Description)
	setStr(&c.Fingerprint, r.Fingerprint)
	setStr(&c.Email, r.Email)
	setStr(&c.Phone, r.Phone)
	setStr(&c.Nick, r.Nick)
	if r.Meta != nil {
		c.Meta = r.Meta
	}
	return nil
}

// handleContactList handles GET /api/v1/contact/list.
func (a *API) handleContactList(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Contact, string, error) {
		return a.store.FindContacts(ctx, models.ContactFilter{Page: p})
	}, toContact, func(c *models.Contact) string { return c.ID })
}

// handleContactFetch handles GET /api/v1/contact/{contactId}/fetch.
func (a *API) handleContactFetch(c *fiber.Ctx) error {
	ct, err := a.store.FindContact(c.UserContext(), c.Params("contactId"))
	if err != nil {
		return err
	}
	return c.JSON(toContact(ct))
}

// handleContactCreate handles POST /api/v1/contact/create. Without a
// fingerprint (optional in ChatBotKit's API) the contact gets a random one.
func (a *API) handleContactCreate(c *fiber.Ctx) error {
	var r contactRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	ct := models.Contact{Meta: models.Meta{}}
	if err := r.apply(&ct); err != nil {
		return err
	}
	if strings.TrimSpace(ct.Fingerprint) == "" {
		ct.Fingerprint = "parley:" + models.NewID()
	}
	created, err := a.store.CreateContact(c.UserContext(), ct)
	if err != nil {
		return err
	}
	return c.JSON(idResponse{ID: created.ID})
}

// handleContactUpdate handles POST /api/v1/contact/{contactId}/update.
func (a *API) handleContactUpdate(c *fiber.Ctx) error {
	var r contactRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	ct, err := a.store.FindContact(c.UserContext(), c.Params("contactId"))
	if err != nil {
		return err
	}
	if err := r.apply(ct); err != nil {
		return err
	}
	if _, err := a.store.UpdateContact(c.UserContext(), *ct); err != nil {
		return err
	}
	return c.JSON(idResponse{ID: ct.ID})
}

// handleContactDelete handles POST /api/v1/contact/{contactId}/delete; its
// conversations stay, without it.
func (a *API) handleContactDelete(c *fiber.Ctx) error {
	return a.deleteByID(c, "contactId", a.store.DeleteContact)
}

// handleContactEnsure handles POST /api/v1/contact/ensure: get or create
// the contact with the fingerprint (race-safe in the store).
func (a *API) handleContactEnsure(c *fiber.Ctx) error {
	var r contactRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	if r.Fingerprint == nil || strings.TrimSpace(*r.Fingerprint) == "" {
		return models.FieldError("fingerprint", "Fingerprint is required: it is how ensure finds the contact again.")
	}
	ct := models.Contact{Meta: models.Meta{}}
	if err := r.apply(&ct); err != nil {
		return err
	}
	out, created, err := a.store.EnsureContact(c.UserContext(), ct)
	if err != nil {
		return err
	}
	return c.JSON(ensureResponse{ID: out.ID, Created: created})
}

// handleContactConversations handles GET /api/v1/contact/{contactId}/conversation/list.
func (a *API) handleContactConversations(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	ct, err := a.store.FindContact(c.UserContext(), c.Params("contactId"))
	if err != nil {
		return err
	}
	return sendList(a, c, p, func(ctx context.Context, p models.Page) ([]models.Conversation, string, error) {
		return a.store.FindConversations(ctx, models.ConversationFilter{Page: p, ContactID: ct.ID})
	}, toConversation, func(c *models.Conversation) string { return c.ID })
}
