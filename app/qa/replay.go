package qa

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"parley/app/engine"
	"parley/models"
	"parley/models/store"
)

// ReplayInput is a conversation to replay and what to replay it against:
// its bot's current configuration or a chosen version.
type ReplayInput struct {
	ConversationID string
	Target         string // models.TargetCurrent (default) or TargetVersion
	Version        int
	StartedBy      string
}

// exchange is one user message of a transcript and the turn that answered it.
type exchange struct {
	user models.Message
	turn *models.Turn // nil when it was never answered
}

// transcript reads a conversation's user messages in order (at most limit;
// more is an error) with the turn that answered each (the last one that
// answered, else the last that tried).
func transcript(ctx context.Context, st *store.Store, convID string, limit int) ([]exchange, error) {
	var (
		out     []exchange
		turnIDs []string
		cursor  string
	)
	for {
		msgs, next, err := st.FindMessages(ctx, convID, models.Page{Cursor: cursor, Limit: models.MaxPageSize, Order: models.OrderAsc})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Type == models.MessageUser {
				if len(out) == limit {
					return nil, models.Errorf(models.CodeInvalid, "This conversation has more than %d user messages: too long to replay at once.", limit)
				}
				out = append(out, exchange{user: m})
			} else if m.TurnID != nil && !slices.Contains(turnIDs, *m.TurnID) {
				turnIDs = append(turnIDs, *m.TurnID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	turns, err := st.FindTurns(ctx, turnIDs)
	if err != nil {
		return nil, err
	}
	by := map[string]*models.Turn{}
	for _, id := range turnIDs {
		t := turns[id]
		if t == nil || t.UserMessageID == nil {
			continue
		}
		if better(by[*t.UserMessageID], t) {
			by[*t.UserMessageID] = t
		}
	}
	for i := range out {
		out[i].turn = by[out[i].user.ID]
	}
	return out, nil
}

// StartReplay stores a replay of a conversation and runs it in the
// background: each original user message is sent, in order, to a scratch
// copy (marked as a replay, so it stays out of real lists); the original is
// never touched. Errors: not_found, invalid (no bot, no user message, too long).
func (r *Runner) StartReplay(ctx context.Context, in ReplayInput) (*models.Replay, error) {
	if r.stopping.Load() {
		return nil, errStopping
	}
	conv, err := r.st.FindConversation(ctx, in.ConversationID)
	if err != nil {
		return nil, err
	}
	if conv.BotID == nil {
		return nil, models.Errorf(models.CodeInvalid, "Only a conversation with a bot can be replayed: this one has an inline configuration, or its bot was deleted.")
	}
	if in.Target == models.TargetDraft {
		return nil, models.FieldError("target", "Replay against the current configuration or a version.")
	}
	ex, err := transcript(ctx, r.st, conv.ID, models.MaxReplayTurns)
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, models.Errorf(models.CodeInvalid, "This conversation has no user message to replay.")
	}
	pinned, target, err := r.pin(ctx, *conv.BotID, in.Target, in.Version, nil)
	if err != nil {
		return nil, err
	}
	turns := make([]models.ReplayTurn, 0, len(ex))
	for _, e := range ex {
		rt := models.ReplayTurn{UserMessageID: e.user.ID, Text: e.user.Text}
		if e.turn != nil {
			id := e.turn.ID
			rt.OriginalTurnID = &id
		}
		turns = append(turns, rt)
	}
	rp, err := r.st.CreateReplay(ctx, models.Replay{SourceConversationID: conv.ID, BotID: *conv.BotID, Target: target,
		Version: pinned.Version, Pinned: pinned, StartedBy: models.TruncateUTF8(in.StartedBy, 254)}, turns)
	if err != nil {
		return nil, err
	}
	r.running.Add(1)
	go func() {
		defer r.running.Done()
		if err := r.replay(r.base, rp.ID); err != nil {
			r.log.Error("qa: replay failed", "replay_id", rp.ID, "error", err)
		}
	}()
	return rp, nil
}

// ReplayNow runs a stored replay in the caller's goroutine (tests and
// benchmarks).
func (r *Runner) ReplayNow(ctx context.Context, replayID string) error {
	r.running.Add(1)
	defer r.running.Done()
	return r.replay(ctx, replayID)
}

// replay sends a replay's user messages to its scratch conversation and
// records what changed in each turn.
func (r *Runner) replay(ctx context.Context, id string) error {
	unlock, ok, err := r.st.TryLock(ctx, ReplayTopic(id))
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	defer unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer r.track(id, cancel)()
	bg := context.WithoutCancel(ctx)
	rp, err := r.st.FindReplay(ctx, id)
	if err != nil {
		return err
	}
	if models.RunFinished(rp.Status) {
		return nil
	}
	src, err := r.st.FindConversation(ctx, rp.SourceConversationID)
	if err != nil {
		return err
	}
	botID := rp.BotID
	conv, err := r.st.CreateConversation(ctx, models.Conversation{BotID: &botID, Kind: models.ConversationReplay, Pinned: rp.Pinned,
		Name: models.TruncateUTF8("Replay of "+titleOf(src), 200), Meta: models.Meta{"replayId": rp.ID, "replayOf": src.ID}}, nil)
	if err != nil {
		return r.st.FinishReplay(bg, id, models.RunFailed, models.ErrorMessage(err))
	}
	if err := r.st.SetReplayConversation(ctx, id, conv.ID); err != nil {
		return err
	}
	r.publish(ReplayTopic(id))
	rows, err := r.st.FindReplayTurns(ctx, id)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if r.stopping.Load() || ctx.Err() != nil {
			return r.st.FinishReplay(bg, id, models.RunInterrupted, "The replay was stopped before every message was sent: replay it again.")
		}
		out, err := r.opts.Turns.Complete(ctx, conv.ID, engine.Input{Text: row.Text}, nil)
		if err != nil {
			return r.st.FinishReplay(bg, id, models.RunFailed, "Message "+strconv.Itoa(row.Seq)+" could not be sent: "+models.ErrorMessage(err))
		}
		newID := out.Turn.ID
		row.NewTurnID = &newID
		d, err := r.diffRow(ctx, src.ID, conv.ID, row)
		if err != nil {
			return err
		}
		row.TextChanged, row.RecordsChanged, row.CallsChanged = d.TextChanged, d.RecordsChanged(), d.CallsChanged()
		if err := r.st.FinishReplayTurn(ctx, row); err != nil {
			return err
		}
		r.publish(ReplayTopic(id))
	}
	err = r.st.FinishReplay(bg, id, models.RunPassed, "")
	r.publish(ReplayTopic(id))
	return err
}

func titleOf(c *models.Conversation) string {
	if c.Name != "" {
		return c.Name
	}
	return "conversation " + c.ID[len(c.ID)-8:]
}

// better reports whether t answers its message better than prev: a turn
// that answered beats one that failed, then the later one wins.
func better(prev, t *models.Turn) bool {
	if prev == nil {
		return true
	}
	done, prevDone := t.Status == models.TurnDone, prev.Status == models.TurnDone
	if done != prevDone {
		return done
	}
	return t.ID > prev.ID
}

// TurnDiff is one turn side by side: the original answer and the replayed
// one, with what differs in the answer, the records and the ability calls.
type TurnDiff struct {
	Row           models.ReplayTurn
	Original, New *models.Turn
	// OriginalText and NewText are the answers ("" when a turn failed).
	OriginalText, NewText string
	TextChanged           bool
	// Words is the answers' word diff.
	Words          []models.DiffPart
	RecordsAdded   []models.TurnRecord
	RecordsRemoved []models.TurnRecord
	ScoreChanges   []ScoreChange
	CallsAdded     []models.TurnCall
	CallsRemoved   []models.TurnCall
	ArgChanges     []ArgChange
}

// ScoreChange is a record retrieved both times with another rank or score.
type ScoreChange struct {
	Source, RecordID string
	FromRank, ToRank int
	From, To         float64
}

// ArgChange is an ability called both times with other arguments.
type ArgChange struct {
	Ability  string
	From, To string
}

// RecordsChanged reports records added, removed or moved.
func (d *TurnDiff) RecordsChanged() bool {
	return len(d.RecordsAdded)+len(d.RecordsRemoved)+len(d.ScoreChanges) > 0
}

// CallsChanged reports calls added, removed or with other arguments.
func (d *TurnDiff) CallsChanged() bool {
	return len(d.CallsAdded)+len(d.CallsRemoved)+len(d.ArgChanges) > 0
}

// Changed reports whether anything differs.
func (d *TurnDiff) Changed() bool { return d.TextChanged || d.RecordsChanged() || d.CallsChanged() }

// Pending reports a turn not replayed yet.
func (d *TurnDiff) Pending() bool { return d.Row.NewTurnID == nil }

// scoreEpsilon is the smallest score change that counts.
const scoreEpsilon = 0.005

// diffRow compares one replayed turn with its original.
func (r *Runner) diffRow(ctx context.Context, srcID, scratchID string, row models.ReplayTurn) (*TurnDiff, error) {
	ds, err := Diff(ctx, r.st, srcID, scratchID, []models.ReplayTurn{row})
	if err != nil {
		return nil, err
	}
	return &ds[0], nil
}

// Diff builds the side-by-side view of replay turns: the original turns and
// answers are read from the source conversation, the new ones from the
// scratch copy.
func Diff(ctx context.Context, st *store.Store, srcID, scratchID string, rows []models.ReplayTurn) ([]TurnDiff, error) {
	var ids []string
	for _, row := range rows {
		for _, p := range []*string{row.OriginalTurnID, row.NewTurnID} {
			if p != nil {
				ids = append(ids, *p)
			}
		}
	}
	turns, err := st.FindTurns(ctx, ids)
	if err != nil {
		return nil, err
	}
	var srcMsgs, newMsgs []string
	for _, row := range rows {
		if row.OriginalTurnID != nil {
			if t := turns[*row.OriginalTurnID]; t != nil && t.BotMessageID != nil {
				srcMsgs = append(srcMsgs, *t.BotMessageID)
			}
		}
		if row.NewTurnID != nil {
			if t := turns[*row.NewTurnID]; t != nil && t.BotMessageID != nil {
				newMsgs = append(newMsgs, *t.BotMessageID)
			}
		}
	}
	orig, err := st.FindMessagesByID(ctx, srcID, srcMsgs...)
	if err != nil {
		return nil, err
	}
	fresh := map[string]*models.Message{}
	if scratchID != "" {
		if fresh, err = st.FindMessagesByID(ctx, scratchID, newMsgs...); err != nil {
			return nil, err
		}
	}
	out := make([]TurnDiff, 0, len(rows))
	for _, row := range rows {
		d := TurnDiff{Row: row}
		if row.OriginalTurnID != nil {
			d.Original = turns[*row.OriginalTurnID]
		}
		if row.NewTurnID != nil {
			d.New = turns[*row.NewTurnID]
		}
		if d.Original != nil && d.Original.BotMessageID != nil {
			if m := orig[*d.Original.BotMessageID]; m != nil {
				d.OriginalText = m.Text
			}
		}
		if d.New != nil && d.New.BotMessageID != nil {
			if m := fresh[*d.New.BotMessageID]; m != nil {
				d.NewText = m.Text
			}
		}
		if d.New != nil {
			compare(&d)
		}
		out = append(out, d)
	}
	return out, nil
}

// compare fills in what differs between a turn's original and new versions.
func compare(d *TurnDiff) {
	d.TextChanged = d.OriginalText != d.NewText
	d.Words = models.DiffWords(d.OriginalText, d.NewText)
	var oldRecs, newRecs []models.TurnRecord
	var oldCalls, newCalls []models.TurnCall
	if d.Original != nil {
		oldRecs, oldCalls = d.Original.Records, d.Original.Calls
	}
	newRecs, newCalls = d.New.Records, d.New.Calls
	before := map[string]models.TurnRecord{}
	for _, x := range oldRecs {
		before[x.RecordID] = x
	}
	after := map[string]bool{}
	for _, x := range newRecs {
		after[x.RecordID] = true
		prev, ok := before[x.RecordID]
		switch {
		case !ok:
			d.RecordsAdded = append(d.RecordsAdded, x)
		case prev.Rank != x.Rank || math.Abs(prev.Score-x.Score) >= scoreEpsilon:
			d.ScoreChanges = append(d.ScoreChanges, ScoreChange{Source: x.Source, RecordID: x.RecordID, FromRank: prev.Rank, ToRank: x.Rank, From: prev.Score, To: x.Score})
		}
	}
	for _, x := range oldRecs {
		if !after[x.RecordID] {
			d.RecordsRemoved = append(d.RecordsRemoved, x)
		}
	}
	// Calls are matched by ability, in order.
	used := make([]bool, len(newCalls))
	for _, oc := range oldCalls {
		match := -1
		for i, nc := range newCalls {
			if !used[i] && nc.Ability == oc.Ability {
				match = i
				break
			}
		}
		if match < 0 {
			d.CallsRemoved = append(d.CallsRemoved, oc)
			continue
		}
		used[match] = true
		if !sameJSON(oc.Input, newCalls[match].Input) {
			d.ArgChanges = append(d.ArgChanges, ArgChange{Ability: oc.Ability, From: oc.Input, To: newCalls[match].Input})
		}
	}
	for i, nc := range newCalls {
		if !used[i] {
			d.CallsAdded = append(d.CallsAdded, nc)
		}
	}
}

// sameJSON reports whether two JSON texts hold the same value (texts that
// are not JSON compare as text).
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
