package api

import (
	"context"

	"parley/models"
)

// checkModel runs Options.CheckModel, if any, on a model string the request
// gives (nil: none given, nothing to check).
func (a *API) checkModel(ctx context.Context, model *string) error {
	if model == nil || a.opts.CheckModel == nil {
		return nil
	}
	return a.opts.CheckModel(ctx, *model)
}

// checkAbility runs Options.CheckAbility, if any, on an ability about to be saved.
func (a *API) checkAbility(ctx context.Context, ab models.Ability) error {
	if a.opts.CheckAbility == nil {
		return nil
	}
	return a.opts.CheckAbility(ctx, ab)
}
