package engine_test

import (
	"context"
	"testing"

	"parley/app/engine"
	"parley/app/engine/ability"
	"parley/app/provider"
	"parley/app/provider/local"
	"parley/models"
	"parley/models/store/storetest"
	"parley/seed"
)

// BenchmarkTurnLocal runs one full turn (store the question, retrieve from the
// seeded help center, call the local provider, store context and answer) on
// each database.
func BenchmarkTurnLocal(b *testing.B) {
	questions := []string{
		"Can I get a refund on my annual plan?",
		"How do I reset my password?",
		"What is the file size limit for uploads?",
		"How long do you keep files in the trash?",
	}
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, d)
			res, err := seed.Run(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			lp := local.New()
			e := engine.New(engine.Options{Store: s,
				Providers: func(context.Context, string) (provider.Provider, string, error) { return lp, "local", nil },
				Abilities: func(a models.Ability) (engine.Runner, error) {
					r, err := ability.Parse(a)
					if err != nil || r == nil {
						return nil, err
					}
					return r, nil
				}})
			conv, err := s.CreateConversation(ctx, models.Conversation{BotID: &res.BotID}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := e.Turn(ctx, conv.ID, questions[i%len(questions)], nil)
				if err != nil || r.Err != nil {
					b.Fatal(err, r.Err)
				}
			}
		})
	}
}
