package store

import (
	"context"

	"parley/models"
)

// FindEventDeliveries returns the deliveries of the given inbound events,
// by event id, without their attempts: the delivery audit's list shows each
// event's reply in one query rather than one per event. At most
// models.MaxPageSize ids are read (a page of events).
func (s *Store) FindEventDeliveries(ctx context.Context, eventIDs []string) (map[string]models.OutboundDelivery, error) {
	out := map[string]models.OutboundDelivery{}
	if len(eventIDs) == 0 {
		return out, nil
	}
	if len(eventIDs) > models.MaxPageSize {
		eventIDs = eventIDs[:models.MaxPageSize]
	}
	var ds []models.OutboundDelivery
	if err := s.conn(ctx).Omit("text").Where("event_id IN ?", eventIDs).Find(&ds).Error; err != nil {
		return nil, translate(err, "deliveries")
	}
	for _, d := range ds {
		out[d.EventID] = d
	}
	return out, nil
}
