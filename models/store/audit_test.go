package store_test

import (
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestFindContactsSearch: the contacts page's search matches name, nick,
// email and fingerprint case-insensitively, LIKE wildcards only match
// themselves, and the results page like any list.
func TestFindContactsSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		for _, c := range []models.Contact{
			{Fingerprint: "telegram:42", Name: "Ann Lee", Nick: "annie"},
			{Fingerprint: "crm:7", Name: "Bob", Email: "Bob@Shop.example"},
			{Fingerprint: "crm:100%", Name: "Cleo"},
			{Fingerprint: "crm:a_b", Name: "Dan"},
			{Fingerprint: "crm:axb", Name: "Eve"},
		} {
			if _, _, err := s.EnsureContact(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		names := func(q string, p models.Page) ([]string, string) {
			t.Helper()
			cs, next, err := s.FindContacts(ctx, models.ContactFilter{Page: p, Search: q})
			if err != nil {
				t.Fatalf("FindContacts(%q): %v", q, err)
			}
			out := []string{}
			for _, c := range cs {
				out = append(out, c.Name)
			}
			return out, next
		}
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"ANN", []string{"Ann Lee"}}, {"annie", []string{"Ann Lee"}}, {"shop.EXAMPLE", []string{"Bob"}},
			{"telegram:", []string{"Ann Lee"}}, {"%", []string{"Cleo"}}, {"a_b", []string{"Dan"}},
			{"  cleo ", []string{"Cleo"}}, {"nobody", []string{}},
		} {
			got, _ := names(tc.q, models.Page{})
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
			}
		}
		first, next := names("crm:", models.Page{Limit: 2})
		if len(first) != 2 || next == "" {
			t.Fatalf("first page %v, next %q", first, next)
		}
		rest, _ := names("crm:", models.Page{Limit: 2, Cursor: next})
		if len(rest) != 2 || rest[0] == first[0] || rest[0] == first[1] {
			t.Errorf("second page %v after %v", rest, first)
		}
	})
}

// TestFindEventDeliveries: the audit reads each listed event's reply in one
// query, keyed by event; an event without one is absent.
func TestFindEventDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		useBox(t, s, 3)
		useJobs(s)
		it, _ := mustIntegration(t, s, models.IntegrationWebhook)
		a, _, err := s.ReceiveEvent(ctx, textEvent(it, "a", "thread", "hello"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := s.ReceiveEvent(ctx, textEvent(it, "b", "thread", "again"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		tc, err := s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: it.ID, ExternalKey: "thread"})
		if err != nil {
			t.Fatal(err)
		}
		u := mustMessage(t, s, tc.Conversation.ID, models.MessageUser, "hello")
		_, d, err := s.RecordEventStep(ctx, a.ID, store.EventStep{Status: models.EventProcessed, ConversationID: tc.Conversation.ID,
			UserMessageID: u.ID, Reply: &store.Reply{Kind: models.DeliveryReply, Text: "Hi!"}})
		if err != nil || d == nil {
			t.Fatalf("RecordEventStep: %v %v", d, err)
		}
		got, err := s.FindEventDeliveries(ctx, []string{a.ID, b.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[a.ID].ID != d.ID || got[a.ID].Status != d.Status {
			t.Errorf("FindEventDeliveries = %+v, want only %s's delivery %s", got, a.ID, d.ID)
		}
		if none, err := s.FindEventDeliveries(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("no ids: %v %v", none, err)
		}
	})
}
