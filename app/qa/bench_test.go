package qa_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/app/engine"
	"parley/app/qa"
	"parley/models"
	"parley/models/store/storetest"
)

// benchQuestions are help-center questions the seeded bot answers offline.
var benchQuestions = []string{
	"Can I get a refund on my annual plan?",
	"How do I reset my password?",
	"What is the file size limit for uploads?",
	"How long do you keep files in the trash?",
	"How much does the Team plan cost?",
}

// benchSuite makes a suite of n one-turn cases of the seeded bot.
func benchSuite(b *testing.B, e *env, n int) string {
	b.Helper()
	ctx := context.Background()
	s, err := e.st.CreateSuite(ctx, models.TestSuite{BotID: e.seeded.BotID, Name: fmt.Sprintf("Bench %d", n)})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		q := benchQuestions[i%len(benchQuestions)]
		if _, err := e.st.CreateCase(ctx, models.TestCase{SuiteID: s.ID, Name: fmt.Sprintf("Case %d", i), Turns: []models.CaseTurn{{User: q,
			Expect: []models.Assertion{{Kind: models.AssertNotContains, Text: "I don't know"}}}}}); err != nil {
			b.Fatal(err)
		}
	}
	return s.ID
}

// BenchmarkCasesLocal runs suites of 20 one-turn cases against the seeded
// bot with the offline provider and reports cases per second.
func BenchmarkCasesLocal(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			e := newEnv(b, storetest.Open(b, d))
			suite := benchSuite(b, e, 20)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if run := e.run(b, qa.RunInput{SuiteID: suite}); run.Status != models.RunPassed {
					b.Fatalf("run = %+v", run)
				}
			}
			b.ReportMetric(float64(20*b.N)/time.Since(start).Seconds(), "cases/s")
		})
	}
}

// BenchmarkSuite200 runs a 200-case suite: ns/op is its wall time.
func BenchmarkSuite200(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			e := newEnv(b, storetest.Open(b, d))
			suite := benchSuite(b, e, 200)
			b.ResetTimer()
			for range b.N {
				if run := e.run(b, qa.RunInput{SuiteID: suite}); run.Status != models.RunPassed || run.Done != 200 {
					b.Fatalf("run = %+v", run)
				}
			}
		})
	}
}

// BenchmarkReplay50 replays a 50-turn conversation against the seeded bot:
// ns/op is one replay, diff included.
func BenchmarkReplay50(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, storetest.Open(b, d))
			conv, err := e.st.CreateConversation(ctx, models.Conversation{BotID: &e.seeded.BotID, Name: "Long"}, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range 50 {
				if _, err := e.turns.Complete(ctx, conv.ID, engine.Input{Text: benchQuestions[i%len(benchQuestions)]}, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				ex, err := e.runner.StartReplay(ctx, qa.ReplayInput{ConversationID: conv.ID})
				if err != nil {
					b.Fatal(err)
				}
				for {
					rp, err := e.st.FindReplay(ctx, ex.ID)
					if err != nil {
						b.Fatal(err)
					}
					if models.RunFinished(rp.Status) {
						if rp.Done != 50 || rp.Changed != 0 {
							b.Fatalf("replay = %+v", rp)
						}
						break
					}
					time.Sleep(time.Millisecond)
				}
				rows, err := e.st.FindReplayTurns(ctx, ex.ID)
				if err != nil {
					b.Fatal(err)
				}
				rp, _ := e.st.FindReplay(ctx, ex.ID)
				if _, err := qa.Diff(ctx, e.st, conv.ID, *rp.ConversationID, rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
