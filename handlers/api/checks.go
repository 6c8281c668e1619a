package api

import (
	"context"

	"parley/models"
)

// checkModel checks a model string the request gives (nil: none given,
// nothing to check) names a provider that exists.
func (a *API) checkModel(ctx context.Context, model *string) error {
	if model == nil {
		return nil
	}
	return a.opts.CheckModel(ctx, *model)
}

// checkAbility checks an ability's action and vault secrets before it is saved.
func (a *API) checkAbility(ctx context.Context, ab models.Ability) error {
	return a.opts.CheckAbility(ctx, ab)
}
