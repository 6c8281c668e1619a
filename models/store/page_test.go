package store_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// listFunc lists one page of some resource as ids.
type listFunc func(t *testing.T, p models.Page) (ids []string, next string)

// ids maps items to their ids.
func ids[T any](items []T, id func(*T) string) []string {
	out := []string{}
	for i := range items {
		out = append(out, id(&items[i]))
	}
	return out
}

// paginated describes one listing: seed creates five items in scope (and some
// out of scope) and returns their ids in creation order and the listing.
type paginated struct {
	name string
	seed func(t *testing.T, s *store.Store) ([]string, listFunc)
}

func listings() []paginated {
	return []paginated{
		{"Bots", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			var want []string
			for i := range 5 {
				want = append(want, mustBot(t, s, store.BotInput{Bot: models.Bot{Name: fmt.Sprint("bot ", i)}}).ID)
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindBots(t.Context(), models.BotFilter{Page: p})
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(b *models.Bot) string { return b.ID }), next
			}
		}},
		{"BotsByDataset", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			d := mustDataset(t, s, "Docs")
			var want []string
			for i := range 5 {
				want = append(want, mustBot(t, s, store.BotInput{Bot: models.Bot{Name: fmt.Sprint("bot ", i)}, DatasetIDs: []string{d.ID}}).ID)
				mustBot(t, s, store.BotInput{Bot: models.Bot{Name: fmt.Sprint("other ", i)}})
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindBots(t.Context(), models.BotFilter{Page: p, DatasetID: d.ID})
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(b *models.Bot) string { return b.ID }), next
			}
		}},
		{"Datasets", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			var want []string
			for i := range 5 {
				want = append(want, mustDataset(t, s, fmt.Sprint("dataset ", i)).ID)
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindDatasets(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(d *models.Dataset) string { return d.ID }), next
			}
		}},
		{"Records", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			d := mustDataset(t, s, "Mine")
			other := mustDataset(t, s, "Other")
			var want []string
			for i := range 5 {
				want = append(want, mustRecord(t, s, d.ID, fmt.Sprint("record ", i)).ID)
				mustRecord(t, s, other.ID, fmt.Sprint("other ", i))
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindRecords(t.Context(), d.ID, p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(r *models.DatasetRecord) string { return r.ID }), next
			}
		}},
		{"Skillsets", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			var want []string
			for i := range 5 {
				want = append(want, mustSkillset(t, s, fmt.Sprint("skillset ", i)).ID)
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindSkillsets(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(k *models.Skillset) string { return k.ID }), next
			}
		}},
		{"Abilities", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			k := mustSkillset(t, s, "Mine")
			other := mustSkillset(t, s, "Other")
			var want []string
			for i := range 5 {
				want = append(want, mustAbility(t, s, k.ID, fmt.Sprint("ability ", i)).ID)
				mustAbility(t, s, other.ID, fmt.Sprint("other ", i))
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindAbilities(t.Context(), k.ID, p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(a *models.Ability) string { return a.ID }), next
			}
		}},
		{"ConversationsByBot", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			b := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Mine"}})
			var want []string
			for i := range 5 {
				want = append(want, mustConversation(t, s, models.Conversation{BotID: &b.ID, Name: fmt.Sprint("chat ", i)}).ID)
				mustConversation(t, s, models.Conversation{Name: fmt.Sprint("other ", i)})
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindConversations(t.Context(), models.ConversationFilter{Page: p, BotID: b.ID})
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(c *models.Conversation) string { return c.ID }), next
			}
		}},
		{"Messages", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			c := mustConversation(t, s, models.Conversation{Name: "Mine"})
			other := mustConversation(t, s, models.Conversation{Name: "Other"})
			var want []string
			for i := range 5 {
				want = append(want, mustMessage(t, s, c.ID, models.MessageUser, fmt.Sprint("message ", i)).ID)
				mustMessage(t, s, other.ID, models.MessageUser, fmt.Sprint("other ", i))
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindMessages(t.Context(), c.ID, p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(m *models.Message) string { return m.ID }), next
			}
		}},
		{"Operators", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			var want []string
			for i := range 5 {
				want = append(want, mustOperator(t, s, fmt.Sprintf("op%d@example.com", i), models.RoleQA).ID)
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindOperators(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(o *models.Operator) string { return o.ID }), next
			}
		}},
		{"Secrets", func(t *testing.T, s *store.Store) ([]string, listFunc) {
			var want []string
			for i := range 5 {
				sec, _ := mustSecret(t, s, fmt.Sprint("secret ", i), nil)
				want = append(want, sec.ID)
			}
			return want, func(t *testing.T, p models.Page) ([]string, string) {
				t.Helper()
				items, next, err := s.FindSecrets(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				return ids(items, func(a *models.APISecret) string { return a.ID }), next
			}
		}},
	}
}

// walk follows next cursors from the first page to the last and returns the pages.
func walk(t *testing.T, list listFunc, p models.Page) [][]string {
	t.Helper()
	var pages [][]string
	for range 20 {
		items, next := list(t, p)
		pages = append(pages, items)
		if next == "" {
			return pages
		}
		if len(items) == 0 || next != items[len(items)-1] {
			t.Fatalf("page %d = %v, next = %q: want the next cursor to be the id of the page's last item", len(pages), items, next)
		}
		p.Cursor = next
	}
	t.Fatalf("pagination did not end after 20 pages: %v", pages)
	return nil
}

func TestPagination(t *testing.T) {
	for _, l := range listings() {
		t.Run(l.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				created, list := l.seed(t, s)
				for _, tc := range []struct {
					name  string
					order string
					want  []string
				}{
					{"DefaultNewestFirst", "", reversed(created)},
					{"Desc", models.OrderDesc, reversed(created)},
					{"Asc", models.OrderAsc, created},
					{"UnknownOrderIsDesc", "sideways", reversed(created)},
				} {
					t.Run(tc.name, func(t *testing.T) {
						pages := walk(t, list, models.Page{Limit: 2, Order: tc.order})
						want := [][]string{tc.want[0:2], tc.want[2:4], tc.want[4:5]}
						if diff := cmp.Diff(want, pages); diff != "" {
							t.Errorf("pages (-want +got):\n%s", diff)
						}
					})
				}
			})
		})
	}
}

func TestPageLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		list := func(t *testing.T, p models.Page) ([]string, string) {
			t.Helper()
			items, next, err := s.FindDatasets(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			return ids(items, func(d *models.Dataset) string { return d.ID }), next
		}
		var created []string
		for i := range 4 {
			created = append(created, mustDataset(t, s, fmt.Sprint("dataset ", i)).ID)
		}

		t.Run("ExactMultipleHasNoEmptyLastPage", func(t *testing.T) {
			pages := walk(t, list, models.Page{Limit: 2, Order: models.OrderAsc})
			want := [][]string{created[0:2], created[2:4]}
			if diff := cmp.Diff(want, pages); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
		t.Run("NewItemsDoNotShiftPages", func(t *testing.T) {
			first, next := list(t, models.Page{Limit: 2})
			newer := mustDataset(t, s, "arrived meanwhile")
			rest := walk(t, list, models.Page{Limit: 2, Cursor: next})
			var got []string
			got = append(got, first...)
			for _, p := range rest {
				got = append(got, p...)
			}
			if diff := cmp.Diff(reversed(created), got); diff != "" {
				t.Errorf("walk while a dataset was added (-want +got):\n%s", diff)
			}
			created = append(created, newer.ID)
		})

		for len(created) < models.MaxPageSize+1 {
			created = append(created, mustDataset(t, s, fmt.Sprint("dataset ", len(created))).ID)
		}
		for _, tc := range []struct {
			name     string
			limit    int
			want     int
			wantNext bool
		}{
			{"ClampedToMax", 1000, models.MaxPageSize, true},
			{"Max", models.MaxPageSize, models.MaxPageSize, true},
			{"ZeroIsDefault", 0, models.DefaultPageSize, true},
			{"NegativeIsDefault", -3, models.DefaultPageSize, true},
			{"OneOverMax", models.MaxPageSize + 1, models.MaxPageSize, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				items, next := list(t, models.Page{Limit: tc.limit})
				if len(items) != tc.want {
					t.Errorf("Limit %d: %d items, want %d", tc.limit, len(items), tc.want)
				}
				if (next != "") != tc.wantNext {
					t.Errorf("Limit %d: next = %q, want a next page: %v", tc.limit, next, tc.wantNext)
				}
			})
		}
		t.Run("ClampedWalkSeesAll", func(t *testing.T) {
			pages := walk(t, list, models.Page{Limit: 1000, Order: models.OrderAsc})
			if len(pages) != 2 || len(pages[0]) != models.MaxPageSize || len(pages[1]) != 1 {
				t.Fatalf("page sizes = %v, want [%d 1]", pageSizes(pages), models.MaxPageSize)
			}
			got := append(append([]string{}, pages[0]...), pages[1]...)
			if diff := cmp.Diff(created, got); diff != "" {
				t.Errorf("all datasets in creation order (-want +got):\n%s", diff)
			}
		})
	})
}

func pageSizes(pages [][]string) []int {
	var out []int
	for _, p := range pages {
		out = append(out, len(p))
	}
	return out
}
