package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"parley/models"
)

// rollupKey is what the Analytics figures are kept per: a UTC period (a day
// 'YYYY-MM-DD' or an hour 'YYYY-MM-DDTHH', see period) and the
// conversation's bot, integration and kind (the page filters by bot and kind
// and groups by the integration's type, read when the page is shown). ""
// stands for no bot or no integration.
type rollupKey struct {
	Period, BotID, IntegrationID, Kind string
}

// day is the day of k's period.
func (k rollupKey) day() string { return k.Period[:len(time.DateOnly)] }

// figures are one key's sums, mergeable: a period's rollup row, or what the
// live queries count for a part of a period.
type figures struct {
	Conversations, Messages int64
	// Contacts are the distinct contacts of the conversations counted
	// (merged as a set: active contacts are distinct across days).
	Contacts map[string]bool
	// Turns are the finished turns (done, failed, interrupted); DontKnow the
	// done turns whose answer says the bot did not know.
	Turns, DontKnow int64
	// NoRecord counts, by the turn's bot, the other done turns that retrieved
	// no record: unanswered only if that bot has a dataset attached, which is
	// read when the page is shown (attaching one changes past days' rate).
	NoRecord  map[string]int64
	Up, Down  int64
	Latency   hist // done turns' latency_ms
	TTFT      hist // done turns' ttft_ms, where known
	Tokens    map[string]*models.ModelTokens
	Abilities map[string]*models.AbilityErrors
	Records   map[recordKey]*recordUses
	// Samples are the unanswered turns' candidates: the most recent
	// unansweredSample that did not know, and per turn bot the most recent
	// unansweredSample that retrieved nothing (capped by capSamples).
	Samples []questionSample
	// raw is the rollup row f was read from: its histograms and contacts
	// are decoded by addRaw straight into the page's totals, not into f.
	raw *rollupRow
}

// recordKey is a retrieved record, as the page groups them.
type recordKey struct{ RecordID, DatasetID string }

// recordUses is how often a record was retrieved, and its greatest source.
type recordUses struct {
	Source string `json:"s"`
	Uses   int64  `json:"u"`
}

// questionSample is a turn that could not answer (if NoRecord, only when
// its bot has a dataset), for the top unanswered questions, with its
// conversation and question (a change to the question marks the turn's day).
type questionSample struct {
	At             time.Time `json:"a"`
	TurnID         string    `json:"t"`
	BotID          string    `json:"b,omitempty"`
	NoRecord       bool      `json:"n,omitempty"`
	ConversationID string    `json:"c"`
	Text           string    `json:"q"`
}

func newFigures() *figures {
	return &figures{Contacts: map[string]bool{}, NoRecord: map[string]int64{}, Latency: hist{}, TTFT: hist{}, Tokens: map[string]*models.ModelTokens{},
		Abilities: map[string]*models.AbilityErrors{}, Records: map[recordKey]*recordUses{}}
}

// add merges o into f (samples included, uncapped).
func (f *figures) add(o *figures) {
	f.Conversations += o.Conversations
	f.Messages += o.Messages
	for c := range o.Contacts {
		f.Contacts[c] = true
	}
	f.Turns += o.Turns
	f.DontKnow += o.DontKnow
	f.Up += o.Up
	f.Down += o.Down
	for b, n := range o.NoRecord {
		f.NoRecord[b] += n
	}
	f.Latency.add(o.Latency)
	f.TTFT.add(o.TTFT)
	for m, t := range o.Tokens {
		mt := f.Tokens[m]
		if mt == nil {
			mt = &models.ModelTokens{Model: m}
			f.Tokens[m] = mt
		}
		mt.Turns += t.Turns
		mt.InputTokens += t.InputTokens
		mt.OutputTokens += t.OutputTokens
	}
	for k, e := range o.Abilities {
		ae := f.Abilities[k]
		if ae == nil {
			ae = &models.AbilityErrors{Ability: k}
			f.Abilities[k] = ae
		}
		ae.Calls += e.Calls
		ae.Errors += e.Errors
	}
	for k, r := range o.Records {
		ru := f.Records[k]
		if ru == nil {
			ru = &recordUses{}
			f.Records[k] = ru
		}
		ru.Uses += r.Uses
		ru.Source = max(ru.Source, r.Source)
	}
	f.Samples = append(f.Samples, o.Samples...)
}

// sampleOrder is the unanswered questions' order: most recent first.
func sampleOrder(a, b questionSample) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	return cmp.Compare(b.TurnID, a.TurnID)
}

// capSamples keeps, of one key's samples, the most recent unansweredSample
// that did not know and per turn bot the most recent unansweredSample that
// retrieved nothing: whichever bots have a dataset when the page is shown,
// the page's most recent unansweredSample are among them.
func capSamples(ss []questionSample) []questionSample {
	slices.SortFunc(ss, sampleOrder)
	type group struct {
		bot      string
		noRecord bool
	}
	n := map[group]int{}
	out := ss[:0]
	for _, s := range ss {
		g := group{noRecord: s.NoRecord}
		if s.NoRecord {
			g.bot = s.BotID
		}
		if n[g] < unansweredSample {
			n[g]++
			out = append(out, s)
		}
	}
	return out
}

// hist is a histogram of milliseconds: exact below 1,000, above rounded down
// to three significant digits (at most 1% low), so that percentiles of
// merged days are exact for typical latencies and within 1% above a second.
type hist map[int64]int64

// bucket is the histogram bucket of v.
func bucket(v int64) int64 {
	if v < 1000 {
		return v
	}
	p := int64(1)
	for v/p >= 1000 {
		p *= 10
	}
	return v / p * p
}

func (h hist) addValue(v, n int64) { h[bucket(v)] += n }

func (h hist) add(o hist) {
	for v, n := range o {
		h[v] += n
	}
}

// count is how many values the histogram holds.
func (h hist) count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// percentiles returns the nearest-rank p50 and p95 (the bucket's value) and
// how many values there are.
func (h hist) percentiles() (p50, p95, n int64) {
	n = h.count()
	if n == 0 {
		return 0, 0, 0
	}
	keys := make([]int64, 0, len(h))
	for v := range h {
		keys = append(keys, v)
	}
	slices.Sort(keys)
	at := func(p float64) int64 {
		rank := max(int64(float64(n)*p+0.999999)-1, 0) // nearest rank, 0-based
		var seen int64
		for _, v := range keys {
			seen += h[v]
			if seen > rank {
				return v
			}
		}
		return keys[len(keys)-1]
	}
	return at(0.5), at(0.95), n
}

// encode writes the histogram compactly: sorted buckets as varint deltas,
// each followed by its count as a uvarint.
func (h hist) encode() []byte {
	if len(h) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(h))
	for v := range h {
		keys = append(keys, v)
	}
	slices.Sort(keys)
	out := make([]byte, 0, len(keys)*3)
	var prev int64
	for _, v := range keys {
		out = binary.AppendVarint(out, v-prev)
		out = binary.AppendUvarint(out, uint64(h[v]))
		prev = v
	}
	return out
}

// decodeHist adds what encode wrote to h.
func (h hist) decode(b []byte) error {
	var prev int64
	for len(b) > 0 {
		d, n := binary.Varint(b)
		if n <= 0 {
			return errors.New("store: bad histogram")
		}
		b = b[n:]
		c, m := binary.Uvarint(b)
		if m <= 0 {
			return errors.New("store: bad histogram")
		}
		b = b[m:]
		prev += d
		h[prev] += int64(c)
	}
	return nil
}
