package handlers

import (
	"context"

	"parley/models"
)

// checkModel checks at save that a model string names a provider that
// exists (with the resolver turns use).
func (s *Server) checkModel(ctx context.Context, model string) error {
	return s.opts.Providers.CheckModel(ctx, model)
}

// checkAbility checks at save that an ability's action and vault secrets
// exist (with the loader turns use).
func (s *Server) checkAbility(ctx context.Context, a models.Ability) error {
	return s.opts.Abilities.Check(ctx, a)
}
