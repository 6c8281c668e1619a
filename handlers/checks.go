package handlers

import (
	"context"

	"parley/models"
)

// checkModel runs Options.CheckModel, if any, on a model string about to be saved.
func (s *Server) checkModel(ctx context.Context, model string) error {
	if s.opts.CheckModel == nil {
		return nil
	}
	return s.opts.CheckModel(ctx, model)
}

// checkAbility runs Options.CheckAbility, if any, on an ability about to be saved.
func (s *Server) checkAbility(ctx context.Context, a models.Ability) error {
	if s.opts.CheckAbility == nil {
		return nil
	}
	return s.opts.CheckAbility(ctx, a)
}
