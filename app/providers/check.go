package providers

import (
	"context"
	"fmt"
	"strings"

	"parley/models"
)

// maxListedProviders bounds how many providers a check's message names.
const maxListedProviders = 20

// CheckModel validates a bot's (or an inline conversation's) model string
// before it is saved, so that a typo fails at save rather than at chat time:
// it must name "local" (or be empty), or a configured provider — with a model
// after the slash, or a provider that has a default model. Failures are
// invalid-input errors on the field "model" whose message names the providers
// there are; other errors are the store's.
func (r *Resolver) CheckModel(ctx context.Context, model string) error {
	name, rest, _ := strings.Cut(strings.TrimSpace(model), "/")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == models.LocalProvider {
		return nil
	}
	p, err := r.store.FindProviderByName(ctx, name)
	if models.ErrorCode(err) == models.CodeNotFound {
		names, err := r.store.ProviderNames(ctx, maxListedProviders+1)
		if err != nil {
			return err
		}
		list := append([]string{models.LocalProvider}, names...)
		end := "."
		if len(names) > maxListedProviders {
			list, end = list[:maxListedProviders+1], ", …"
		}
		return models.FieldError("model", fmt.Sprintf("No provider named %s. Providers: %s%s", name, strings.Join(list, ", "), end))
	}
	if err != nil {
		return err
	}
	if strings.TrimSpace(rest) == "" && p.DefaultModel == "" {
		return models.FieldError("model", fmt.Sprintf("Provider %s has no default model: name one, like %s/MODEL, or set its default model under Providers.", p.Name, p.Name))
	}
	return nil
}
