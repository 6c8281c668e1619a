package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"parley/models"
	"parley/models/store/storetest"
)

// BenchmarkConversationPage opens the workbench of a conversation with 10 and
// with 10,000 messages on each database: the page shows the latest page only,
// so both should cost about the same.
func BenchmarkConversationPage(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		for _, n := range []int{10, 25, 10000} {
			b.Run(fmt.Sprintf("%s/%d", d, n), func(b *testing.B) {
				ctx := context.Background()
				s := storetest.Open(b, d)
				srv := newServer(b, s)
				admin, err := s.CreateFirstAdmin(ctx, "admin@example.com", "", "correct horse battery")
				if err != nil {
					b.Fatal(err)
				}
				conv, err := s.CreateConversation(ctx, models.Conversation{Name: "Long"}, nil)
				if err != nil {
					b.Fatal(err)
				}
				msgs := make([]models.Message, n)
				for i := range msgs {
					typ := models.MessageUser
					if i%2 == 1 {
						typ = models.MessageBot
					}
					msgs[i] = models.Message{ID: models.NewID(), ConversationID: conv.ID, Type: typ, Text: fmt.Sprintf("message %d with some words in it", i), Meta: models.Meta{}}
				}
				if err := s.DB().CreateInBatches(msgs, 1000).Error; err != nil {
					b.Fatal(err)
				}
				tok, _, err := s.CreateSession(ctx, admin.ID, "127.0.0.1", "bench")
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					req := httptest.NewRequest(http.MethodGet, "/conversations/"+conv.ID, nil)
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
					res, err := srv.App().Test(req, -1)
					if err != nil || res.StatusCode != 200 {
						b.Fatalf("GET: %v %v", res, err)
					}
					res.Body.Close()
				}
			})
		}
	}
}
