package handlers

import (
	"context"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
)

// addChannelFixtures adds a webhook integration with one (ignored) inbound
// event and a contact to the role tests' fixtures.
func addChannelFixtures(t *testing.T, a *testApp, f fixtures) {
	t.Helper()
	ctx := context.Background()
	a.store.SetBox(testBox(t))
	bot := f["bots"]
	it, _, err := a.store.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWebhook,
		Name: "Roles webhook", BotID: &bot}})
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := a.store.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, ExternalID: "evt-1", Kind: models.EventKindIgnored,
		Reason: "fixture", Payload: `{"eventId":"evt-1"}`}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := a.store.EnsureContact(ctx, models.Contact{Fingerprint: "roles:" + models.NewID(), Name: "Roles contact"})
	if err != nil {
		t.Fatal(err)
	}
	f["integrations"], f["events"], f["contacts"] = it.ID, ev.ID, ct.ID
}
