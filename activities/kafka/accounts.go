package kafka

import (
	"context"
	"fmt"

	"github.com/topoflow/topoflow/accounts"
)

// RegistryCredentials resolves SASL credentials from the worker's account
// registry: the account's username and password credential keys.
func RegistryCredentials(reg *accounts.Registry) CredentialsFunc {
	return func(ctx context.Context, name string) (string, string, error) {
		a, ok := reg.Get(name)
		if !ok {
			return "", "", fmt.Errorf("account %q is not in the registry", name)
		}
		c, err := a.Resolve(ctx)
		if err != nil {
			return "", "", fmt.Errorf("account %s: %w", name, err)
		}
		if c.Username == "" || c.Password == "" {
			return "", "", fmt.Errorf("account %s has no username/password credentials", name)
		}
		return c.Username, c.Password, nil
	}
}
