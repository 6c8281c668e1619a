package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestCreateOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OK", func(t *testing.T) {
			got, err := s.CreateOperator(t.Context(), models.Operator{Email: "  Ann@Example.COM ", Name: " Ann ", Role: models.RoleBuilder}, testPassword)
			if err != nil {
				t.Fatalf("CreateOperator: %v", err)
			}
			want := models.Operator{Email: "ann@example.com", Name: "Ann", Role: models.RoleBuilder}
			opts := cmpopts.IgnoreFields(models.Operator{}, "ID", "PasswordHash", "CreatedAt", "UpdatedAt")
			if diff := cmp.Diff(want, *got, opts); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			found, err := s.FindOperator(t.Context(), got.ID)
			if err != nil {
				t.Fatalf("FindOperator: %v", err)
			}
			if diff := cmp.Diff(want, *found, opts); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if found.PasswordHash == "" || strings.Contains(found.PasswordHash, testPassword) {
				t.Errorf("PasswordHash = %q, want a hash that does not contain the password", found.PasswordHash)
			}
			if _, err := s.Authenticate(t.Context(), "ann@example.com", testPassword); err != nil {
				t.Errorf("Authenticate with the new password: %v", err)
			}
			wantUTC(t, s, map[string]time.Time{"CreatedAt": found.CreatedAt, "UpdatedAt": found.UpdatedAt})
		})
		t.Run("ErrDuplicateEmail", func(t *testing.T) {
			mustOperator(t, s, "dup@example.com", models.RoleQA)
			for _, email := range []string{"dup@example.com", "DUP@Example.com", " dup@example.com "} {
				_, err := s.CreateOperator(t.Context(), models.Operator{Email: email, Role: models.RoleQA}, testPassword)
				wantFieldErrors(t, err, "email")
			}
			if n := count(t, s, "operators", "email = ?", "dup@example.com"); n != 1 {
				t.Errorf("%d operators with the email, want 1", n)
			}
		})
		for _, tc := range []struct {
			name     string
			op       models.Operator
			password string
			field    string
		}{
			{"ErrEmailRequired", models.Operator{Role: models.RoleQA}, testPassword, "email"},
			{"ErrEmailInvalid", models.Operator{Email: "not-an-email", Role: models.RoleQA}, testPassword, "email"},
			{"ErrRoleRequired", models.Operator{Email: "r@example.com"}, testPassword, "role"},
			{"ErrRoleUnknown", models.Operator{Email: "r@example.com", Role: "owner"}, testPassword, "role"},
			{"ErrNameTooLong", models.Operator{Email: "r@example.com", Role: models.RoleQA, Name: strings.Repeat("n", 201)}, testPassword, "name"},
			{"ErrPasswordTooShort", models.Operator{Email: "p@example.com", Role: models.RoleQA}, "short", "password"},
			{"ErrPasswordTooLong", models.Operator{Email: "p@example.com", Role: models.RoleQA}, strings.Repeat("p", 73), "password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "operators", "")
				_, err := s.CreateOperator(t.Context(), tc.op, tc.password)
				wantFieldErrors(t, err, tc.field)
				if got := count(t, s, "operators", ""); got != before {
					t.Errorf("operators = %d, want %d", got, before)
				}
			})
		}
	})
}

func TestCreateFirstAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		needed, err := s.SetupNeeded(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !needed {
			t.Fatal("SetupNeeded = false on an empty database, want true")
		}
		t.Run("ErrInvalidKeepsSetupOpen", func(t *testing.T) {
			_, err := s.CreateFirstAdmin(t.Context(), "not-an-email", "Admin", testPassword)
			wantFieldErrors(t, err, "email")
			_, err = s.CreateFirstAdmin(t.Context(), "admin@example.com", "Admin", "short")
			wantFieldErrors(t, err, "password")
			if needed, _ := s.SetupNeeded(t.Context()); !needed {
				t.Error("SetupNeeded = false after failed attempts, want true")
			}
		})
		t.Run("OK", func(t *testing.T) {
			got, err := s.CreateFirstAdmin(t.Context(), " Admin@Example.com ", " Admin ", testPassword)
			if err != nil {
				t.Fatalf("CreateFirstAdmin: %v", err)
			}
			if got.Role != models.RoleAdmin || got.Email != "admin@example.com" || got.Name != "Admin" || got.Disabled {
				t.Errorf("got %+v, want an enabled admin admin@example.com named Admin", got)
			}
			if _, err := s.Authenticate(t.Context(), "admin@example.com", testPassword); err != nil {
				t.Errorf("Authenticate as the first admin: %v", err)
			}
			if needed, _ := s.SetupNeeded(t.Context()); needed {
				t.Error("SetupNeeded = true after setup, want false")
			}
		})
		t.Run("ErrSecondCall", func(t *testing.T) {
			_, err := s.CreateFirstAdmin(t.Context(), "intruder@example.com", "Intruder", testPassword)
			wantCode(t, err, models.CodeConflict)
			if n := count(t, s, "operators", ""); n != 1 {
				t.Errorf("operators = %d, want 1", n)
			}
		})
	})
}

// The tests below need a database of their own, so each is a top-level test:
// a second storetest.Each in one test names its subtests "sqlite#01", and
// sqliteDSN does not escape the "#" (see TestOpenSQLitePath).

func TestCreateFirstAdminAfterOperators(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("ErrOperatorsExist", func(t *testing.T) {
			mustOperator(t, s, "seeded@example.com", models.RoleSupport)
			_, err := s.CreateFirstAdmin(t.Context(), "admin@example.com", "Admin", testPassword)
			wantCode(t, err, models.CodeConflict)
		})
	})
}

func TestCreateFirstAdminConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("OneWins", func(t *testing.T) {
			const n = 5
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					email := "admin" + string(rune('a'+i)) + "@example.com"
					_, errs[i] = s.CreateFirstAdmin(t.Context(), email, "Admin", testPassword)
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch models.ErrorCode(err) {
				case "":
					ok++
				case models.CodeConflict:
				default:
					t.Errorf("CreateFirstAdmin: %v (code %s), want success or conflict", err, models.ErrorCode(err))
				}
			}
			if ok != 1 {
				t.Errorf("%d calls succeeded, want exactly 1", ok)
			}
			if got := count(t, s, "operators", ""); got != 1 {
				t.Errorf("operators = %d, want 1", got)
			}
		})
	})
}

func TestFindOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		o := mustOperator(t, s, "find@example.com", models.RoleQA)
		t.Run("ByEmailCaseInsensitive", func(t *testing.T) {
			got, err := s.FindOperatorByEmail(t.Context(), " FIND@example.COM ")
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != o.ID {
				t.Errorf("FindOperatorByEmail = %s, want %s", got.ID, o.ID)
			}
		})
		t.Run("ErrUnknownEmail", func(t *testing.T) {
			_, err := s.FindOperatorByEmail(t.Context(), "nobody@example.com")
			wantCode(t, err, models.CodeNotFound)
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "find@example.com"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.FindOperator(t.Context(), tc.id)
				wantCode(t, err, models.CodeNotFound)
			})
		}
	})
}

func TestAuthenticate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		o := mustOperator(t, s, "auth@example.com", models.RoleBuilder)
		disabled := mustOperator(t, s, "off@example.com", models.RoleBuilder)
		mustOperator(t, s, "admin@example.com", models.RoleAdmin)
		disabled.Disabled = true
		if _, err := s.UpdateOperator(t.Context(), *disabled, ""); err != nil {
			t.Fatal(err)
		}

		t.Run("OK", func(t *testing.T) {
			if o.LastLoginAt != nil {
				t.Fatalf("LastLoginAt = %v before any sign-in, want nil", o.LastLoginAt)
			}
			clk.Advance(time.Hour)
			got, err := s.Authenticate(t.Context(), "Auth@Example.com", testPassword)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got.ID != o.ID {
				t.Errorf("Authenticate = %s, want %s", got.ID, o.ID)
			}
			if got.LastLoginAt == nil || !got.LastLoginAt.Equal(clk.Now()) {
				t.Errorf("LastLoginAt = %v, want %v", got.LastLoginAt, clk.Now())
			}
			found, err := s.FindOperator(t.Context(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.LastLoginAt == nil || !found.LastLoginAt.Equal(clk.Now()) {
				t.Errorf("stored LastLoginAt = %v, want %v", found.LastLoginAt, clk.Now())
			}
			if found.LastLoginAt != nil {
				wantUTC(t, s, map[string]time.Time{"LastLoginAt": *found.LastLoginAt})
			}
		})
		for _, tc := range []struct{ name, email, password string }{
			{"ErrWrongPassword", "auth@example.com", testPassword + "!"},
			{"ErrEmptyPassword", "auth@example.com", ""},
			{"ErrUnknownEmail", "ghost@example.com", testPassword},
			{"ErrEmptyEmail", "", testPassword},
			{"ErrDisabled", "off@example.com", testPassword},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Authenticate(t.Context(), tc.email, tc.password)
				wantCode(t, err, models.CodeUnauthorized)
				// One message for every failure, so it reveals nothing about which part was wrong.
				if got, want := models.ErrorMessage(err), "Email or password is incorrect."; got != want {
					t.Errorf("message = %q, want %q", got, want)
				}
			})
		}
		t.Run("FailureKeepsLastLogin", func(t *testing.T) {
			before, err := s.FindOperator(t.Context(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Hour)
			_, err = s.Authenticate(t.Context(), "auth@example.com", "wrong password")
			wantCode(t, err, models.CodeUnauthorized)
			after, err := s.FindOperator(t.Context(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before.LastLoginAt, after.LastLoginAt); diff != "" {
				t.Errorf("LastLoginAt changed by a failed sign-in (-before +after):\n%s", diff)
			}
		})
	})
}

func TestUpdateOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		admin := mustOperator(t, s, "admin@example.com", models.RoleAdmin)

		t.Run("OK", func(t *testing.T) {
			o := mustOperator(t, s, "ok@example.com", models.RoleBuilder)
			token := mustSession(t, s, o.ID)
			o.Name = "Renamed"
			o.Role = models.RoleQA
			o.Email = "Changed@Example.com"
			got, err := s.UpdateOperator(t.Context(), *o, "")
			if err != nil {
				t.Fatalf("UpdateOperator: %v", err)
			}
			if got.Name != "Renamed" || got.Role != models.RoleQA || got.Email != "changed@example.com" {
				t.Errorf("got name %q role %q email %q, want Renamed qa changed@example.com", got.Name, got.Role, got.Email)
			}
			// Editing a profile without a new password keeps the operator signed in.
			if _, err := s.FindSession(t.Context(), token); err != nil {
				t.Errorf("FindSession after a profile edit: %v", err)
			}
			// And the old password still works.
			if _, err := s.Authenticate(t.Context(), "changed@example.com", testPassword); err != nil {
				t.Errorf("Authenticate after a profile edit: %v", err)
			}
		})
		t.Run("PasswordChangeSignsOut", func(t *testing.T) {
			o := mustOperator(t, s, "pw@example.com", models.RoleBuilder)
			token := mustSession(t, s, o.ID)
			otherToken := mustSession(t, s, admin.ID)
			const newPassword = "a brand new password"
			if _, err := s.UpdateOperator(t.Context(), *o, newPassword); err != nil {
				t.Fatalf("UpdateOperator: %v", err)
			}
			_, err := s.FindSession(t.Context(), token)
			wantCode(t, err, models.CodeUnauthorized)
			if n := count(t, s, "operator_sessions", "operator_id = ?", o.ID); n != 0 {
				t.Errorf("sessions left = %d, want 0", n)
			}
			if _, err := s.FindSession(t.Context(), otherToken); err != nil {
				t.Errorf("another operator's session ended too: %v", err)
			}
			_, err = s.Authenticate(t.Context(), "pw@example.com", testPassword)
			wantCode(t, err, models.CodeUnauthorized)
			if _, err := s.Authenticate(t.Context(), "pw@example.com", newPassword); err != nil {
				t.Errorf("Authenticate with the new password: %v", err)
			}
		})
		t.Run("DisableSignsOut", func(t *testing.T) {
			o := mustOperator(t, s, "off@example.com", models.RoleSupport)
			token := mustSession(t, s, o.ID)
			o.Disabled = true
			got, err := s.UpdateOperator(t.Context(), *o, "")
			if err != nil {
				t.Fatalf("UpdateOperator: %v", err)
			}
			if !got.Disabled {
				t.Error("Disabled = false, want true")
			}
			_, err = s.FindSession(t.Context(), token)
			wantCode(t, err, models.CodeUnauthorized)
			if n := count(t, s, "operator_sessions", "operator_id = ?", o.ID); n != 0 {
				t.Errorf("sessions left = %d, want 0", n)
			}
			_, err = s.Authenticate(t.Context(), "off@example.com", testPassword)
			wantCode(t, err, models.CodeUnauthorized)
		})
		t.Run("ErrDuplicateEmail", func(t *testing.T) {
			o := mustOperator(t, s, "mine@example.com", models.RoleQA)
			o.Email = "ADMIN@example.com"
			_, err := s.UpdateOperator(t.Context(), *o, "")
			wantFieldErrors(t, err, "email")
			got, err := s.FindOperator(t.Context(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Email != "mine@example.com" {
				t.Errorf("Email = %q, want unchanged", got.Email)
			}
		})
		t.Run("ErrPasswordTooShort", func(t *testing.T) {
			o := mustOperator(t, s, "weak@example.com", models.RoleQA)
			_, err := s.UpdateOperator(t.Context(), *o, "short")
			wantFieldErrors(t, err, "password")
			if _, err := s.Authenticate(t.Context(), "weak@example.com", testPassword); err != nil {
				t.Errorf("old password stopped working after a refused change: %v", err)
			}
		})
		t.Run("ErrRoleUnknown", func(t *testing.T) {
			o := mustOperator(t, s, "role@example.com", models.RoleQA)
			o.Role = "owner"
			_, err := s.UpdateOperator(t.Context(), *o, "")
			wantFieldErrors(t, err, "role")
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "operators", "")
				_, err := s.UpdateOperator(t.Context(), models.Operator{ID: tc.id, Email: "ghost@example.com", Role: models.RoleQA}, "")
				wantCode(t, err, models.CodeNotFound)
				if got := count(t, s, "operators", ""); got != before {
					t.Errorf("operators = %d, want %d", got, before)
				}
			})
		}
	})
}

func TestLastAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		admin := mustOperator(t, s, "admin@example.com", models.RoleAdmin)
		mustOperator(t, s, "builder@example.com", models.RoleBuilder)

		for _, tc := range []struct {
			name string
			edit func(o *models.Operator)
		}{
			{"ErrDemote", func(o *models.Operator) { o.Role = models.RoleBuilder }},
			{"ErrDisable", func(o *models.Operator) { o.Disabled = true }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o := *admin
				tc.edit(&o)
				_, err := s.UpdateOperator(t.Context(), o, "")
				wantCode(t, err, models.CodeConflict)
				got, err := s.FindOperator(t.Context(), admin.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Role != models.RoleAdmin || got.Disabled {
					t.Errorf("last admin changed to role %q disabled %v", got.Role, got.Disabled)
				}
			})
		}
		t.Run("ErrDelete", func(t *testing.T) {
			wantCode(t, s.DeleteOperator(t.Context(), admin.ID), models.CodeConflict)
			if _, err := s.FindOperator(t.Context(), admin.ID); err != nil {
				t.Errorf("last admin gone after a refused delete: %v", err)
			}
		})
		t.Run("RenameOK", func(t *testing.T) {
			o := *admin
			o.Name = "Still admin"
			if _, err := s.UpdateOperator(t.Context(), o, ""); err != nil {
				t.Errorf("renaming the last admin: %v", err)
			}
		})

		disabledAdmin := mustOperator(t, s, "dormant@example.com", models.RoleAdmin)
		disabledAdmin.Disabled = true
		if _, err := s.UpdateOperator(t.Context(), *disabledAdmin, ""); err != nil {
			t.Fatalf("disabling one of two admins: %v", err)
		}
		t.Run("ErrOtherAdminDisabled", func(t *testing.T) {
			o := *admin
			o.Role = models.RoleQA
			_, err := s.UpdateOperator(t.Context(), o, "")
			wantCode(t, err, models.CodeConflict)
			wantCode(t, s.DeleteOperator(t.Context(), admin.ID), models.CodeConflict)
		})
		t.Run("DeleteDisabledAdminOK", func(t *testing.T) {
			if err := s.DeleteOperator(t.Context(), disabledAdmin.ID); err != nil {
				t.Errorf("deleting a disabled admin: %v", err)
			}
		})

		second := mustOperator(t, s, "second@example.com", models.RoleAdmin)
		t.Run("DemoteWithAnotherAdmin", func(t *testing.T) {
			o := *admin
			o.Role = models.RoleBuilder
			got, err := s.UpdateOperator(t.Context(), o, "")
			if err != nil {
				t.Fatalf("demoting one of two admins: %v", err)
			}
			if got.Role != models.RoleBuilder {
				t.Errorf("Role = %q, want builder", got.Role)
			}
			// Now second is the last active admin.
			s2 := *second
			s2.Disabled = true
			_, err = s.UpdateOperator(t.Context(), s2, "")
			wantCode(t, err, models.CodeConflict)
		})
		t.Run("DisableWithAnotherAdmin", func(t *testing.T) {
			third := mustOperator(t, s, "third@example.com", models.RoleAdmin)
			third.Disabled = true
			if _, err := s.UpdateOperator(t.Context(), *third, ""); err != nil {
				t.Errorf("disabling one of two admins: %v", err)
			}
		})
		t.Run("DeleteWithAnotherAdmin", func(t *testing.T) {
			fourth := mustOperator(t, s, "fourth@example.com", models.RoleAdmin)
			if err := s.DeleteOperator(t.Context(), fourth.ID); err != nil {
				t.Errorf("deleting one of two admins: %v", err)
			}
		})
	})
}

func TestDeleteOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		mustOperator(t, s, "admin@example.com", models.RoleAdmin)
		t.Run("OK", func(t *testing.T) {
			o := mustOperator(t, s, "leaver@example.com", models.RoleBuilder)
			token := mustSession(t, s, o.ID)
			sec, raw := mustSecret(t, s, "CI", &o.ID)
			if err := s.DeleteOperator(t.Context(), o.ID); err != nil {
				t.Fatalf("DeleteOperator: %v", err)
			}
			_, err := s.FindOperator(t.Context(), o.ID)
			wantCode(t, err, models.CodeNotFound)
			_, err = s.FindSession(t.Context(), token)
			wantCode(t, err, models.CodeUnauthorized)
			if n := count(t, s, "operator_sessions", "operator_id = ?", o.ID); n != 0 {
				t.Errorf("sessions left = %d, want 0", n)
			}
			// Secrets they made keep working, without a creator.
			got, err := s.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatalf("FindSecret: %v", err)
			}
			if got.CreatedByID != nil || got.CreatedBy != nil {
				t.Errorf("CreatedByID = %v, CreatedBy = %v, want nil", got.CreatedByID, got.CreatedBy)
			}
			if _, err := s.AuthenticateSecret(t.Context(), raw); err != nil {
				t.Errorf("AuthenticateSecret after its creator left: %v", err)
			}
			// The email can be used again.
			mustOperator(t, s, "leaver@example.com", models.RoleQA)
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrNotFound", models.NewID()},
			{"ErrMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.DeleteOperator(t.Context(), tc.id), models.CodeNotFound)
			})
		}
	})
}

// TestReserveLoginConcurrent: 60 parallel attempts for one email are
// counted before any password is checked, so exactly the limit get through.
func TestReserveLoginConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			passed int
		)
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := s.ReserveLogin(t.Context(), "target@example.com", fmt.Sprintf("10.1.0.%d", i))
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if passed != store.LoginMaxPerEmail {
			t.Errorf("%d attempts got through, want %d", passed, store.LoginMaxPerEmail)
		}
		passed = 0
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := s.ReserveLogin(t.Context(), fmt.Sprintf("user%d@example.com", i), "203.0.113.9")
				if err == nil && ok {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if passed != store.LoginMaxPerClient {
			t.Errorf("from one address: %d attempts got through, want %d", passed, store.LoginMaxPerClient)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		allowed := func(t *testing.T, email, ip string) (bool, time.Duration) {
			t.Helper()
			ok, retry, err := s.LoginAllowed(t.Context(), email, ip)
			if err != nil {
				t.Fatalf("LoginAllowed: %v", err)
			}
			return ok, retry
		}
		fail := func(t *testing.T, email, ip string, n int) {
			t.Helper()
			for range n {
				if ok, _, err := s.ReserveLogin(t.Context(), email, ip); err != nil || !ok {
					t.Fatalf("ReserveLogin = %v, %v", ok, err)
				}
			}
		}

		t.Run("AllowedInitially", func(t *testing.T) {
			if ok, retry := allowed(t, "new@example.com", "10.0.0.1"); !ok || retry != 0 {
				t.Errorf("LoginAllowed = %v, %v; want true, 0", ok, retry)
			}
		})
		t.Run("BlocksAfterMaxPerEmail", func(t *testing.T) {
			fail(t, "Victim@Example.com", "10.0.0.2", store.LoginMaxPerEmail-1)
			if ok, _ := allowed(t, "victim@example.com", "10.0.0.2"); !ok {
				t.Fatalf("blocked after %d failures, want allowed until %d", store.LoginMaxPerEmail-1, store.LoginMaxPerEmail)
			}
			fail(t, "victim@example.com", "10.0.0.3", 1)
			// Blocked for the email, whatever its case and whatever the address.
			ok, retry := allowed(t, "VICTIM@example.com", "10.9.9.9")
			if ok {
				t.Fatalf("allowed after %d failures, want blocked", store.LoginMaxPerEmail)
			}
			if retry != store.LoginWindow {
				t.Errorf("retry after = %v, want %v (the clock did not move)", retry, store.LoginWindow)
			}
			if ok, _ := allowed(t, "bystander@example.com", "10.0.0.2"); !ok {
				t.Error("another email from the same address is blocked, want allowed")
			}

			clk.Advance(5 * time.Minute)
			ok, retry = allowed(t, "victim@example.com", "10.0.0.2")
			if ok || retry != store.LoginWindow-5*time.Minute {
				t.Errorf("5 minutes later: LoginAllowed = %v, %v; want false, %v", ok, retry, store.LoginWindow-5*time.Minute)
			}

			clk.Advance(store.LoginWindow - 5*time.Minute + time.Second)
			if ok, retry := allowed(t, "victim@example.com", "10.0.0.2"); !ok || retry != 0 {
				t.Errorf("after the window: LoginAllowed = %v, %v; want true, 0", ok, retry)
			}
		})
		t.Run("RetryAfterCountsFromOldestFailure", func(t *testing.T) {
			for range store.LoginMaxPerEmail {
				fail(t, "spread@example.com", "10.0.1.1", 1)
				clk.Advance(time.Minute)
			}
			// Failures at t, t+1m … t+4m; now is t+5m: the oldest leaves the window at t+15m.
			ok, retry := allowed(t, "spread@example.com", "10.0.1.1")
			if ok || retry != store.LoginWindow-5*time.Minute {
				t.Errorf("LoginAllowed = %v, %v; want false, %v", ok, retry, store.LoginWindow-5*time.Minute)
			}
			clk.Advance(store.LoginWindow - 5*time.Minute + time.Second)
			if ok, _ := allowed(t, "spread@example.com", "10.0.1.1"); !ok {
				t.Error("still blocked once the oldest failure left the window")
			}
		})
		t.Run("ClearLoginFailuresUnblocks", func(t *testing.T) {
			fail(t, "forgot@example.com", "10.0.2.1", store.LoginMaxPerEmail)
			if ok, _ := allowed(t, "forgot@example.com", "10.0.2.1"); ok {
				t.Fatal("not blocked after the maximum of failures")
			}
			if err := s.ClearLoginFailures(t.Context(), "FORGOT@example.com"); err != nil {
				t.Fatal(err)
			}
			if ok, retry := allowed(t, "forgot@example.com", "10.0.2.1"); !ok || retry != 0 {
				t.Errorf("after ClearLoginFailures: LoginAllowed = %v, %v; want true, 0", ok, retry)
			}
		})
		t.Run("BlocksAfterMaxPerClient", func(t *testing.T) {
			const ip = "192.0.2.7"
			for i := range store.LoginMaxPerClient {
				fail(t, "guess"+string(rune('a'+i))+"@example.com", ip, 1)
			}
			ok, retry := allowed(t, "fresh@example.com", ip)
			if ok || retry <= 0 {
				t.Errorf("LoginAllowed from a guessing address = %v, %v; want false, a positive wait", ok, retry)
			}
			if ok, _ := allowed(t, "fresh@example.com", "192.0.2.8"); !ok {
				t.Error("the same email from another address is blocked, want allowed")
			}
		})
		t.Run("OldFailuresPruned", func(t *testing.T) {
			fail(t, "old@example.com", "10.0.3.1", 2)
			clk.Advance(store.LoginWindow + time.Minute)
			fail(t, "trigger@example.com", "10.0.3.2", 1)
			if n := count(t, s, "login_attempts", "email = ?", "old@example.com"); n != 0 {
				t.Errorf("failures older than the window = %d, want pruned", n)
			}
		})
	})
}
