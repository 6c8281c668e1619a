package handlers

import (
	"github.com/gofiber/fiber/v2"

	"parley/models"
)

type homePage struct {
	Page
	Counts struct{ Bots, Datasets, Skillsets, Conversations int64 }
}

// handleHome handles GET /: counts and next steps.
func (s *Server) handleHome(c *fiber.Ctx) error {
	p := homePage{Page: s.page(c, "Dashboard", "home")}
	counts, err := s.store.Counts(c.UserContext())
	if err != nil {
		return err
	}
	p.Counts.Bots, p.Counts.Datasets, p.Counts.Skillsets, p.Counts.Conversations =
		counts["bots"], counts["datasets"], counts["skillsets"], counts["conversations"]
	return s.render(c, fiber.StatusOK, tplHome, p)
}

// listPage reads and checks the cursor window of a list page.
func listPage(c *fiber.Ctx) (models.Page, error) {
	p := pageParams(c)
	if p.Cursor != "" && !models.ValidID(p.Cursor) {
		return p, models.Errorf(models.CodeInvalid, "The page link is not valid (bad cursor). Go back to the first page.")
	}
	return p, nil
}
