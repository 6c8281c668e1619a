package store_test

import (
	"context"
	"sync"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// Two admins demoting each other at the same moment must leave one admin.
func TestLastAdminRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for round := 0; round < 5; round++ {
			var admins [2]*models.Operator
			for i := range admins {
				op, err := s.CreateOperator(ctx, models.Operator{Email: models.NewID()[24:] + "@example.com", Role: models.RoleAdmin}, "a long password")
				if err != nil {
					t.Fatal(err)
				}
				admins[i] = op
			}
			// Demote every other admin first, so only these two remain.
			ops, _, err := s.FindOperators(ctx, models.Page{Limit: models.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range ops {
				if op.Role == models.RoleAdmin && op.ID != admins[0].ID && op.ID != admins[1].ID {
					op.Role = models.RoleSupport
					if _, err := s.UpdateOperator(ctx, op, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			var wg sync.WaitGroup
			for _, op := range admins {
				wg.Add(1)
				go func() {
					defer wg.Done()
					demoted := *op
					demoted.Role = models.RoleQA
					_, _ = s.UpdateOperator(ctx, demoted, "")
				}()
			}
			wg.Wait()
			ops, _, err = s.FindOperators(ctx, models.Page{Limit: models.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, op := range ops {
				if op.Role == models.RoleAdmin && !op.Disabled {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("round %d: %d active admins after a demotion race, want 1", round, n)
			}
		}
	})
}
