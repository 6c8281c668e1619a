// Package local is Parley's built-in offline provider: it answers from the
// retrieved records (the best-matching sentences, naming their source),
// greets back, uses an ability when the message clearly asks for it and
// weaves its result into the answer, and says plainly that it does not know
// otherwise. It never invents, never touches the network, and gives the same
// answer to the same request, so demos and tests can rely on it.
package local

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"parley/app/provider"
)

// DontKnow is the answer when nothing retrieved covers the question.
const DontKnow = "I don't know: nothing in my knowledge base covers that."

// Limits of an extractive answer.
const (
	maxDocuments   = 5   // documents read, best first
	maxSentences   = 3   // sentences quoted
	maxSentenceLen = 400 // bytes of one quoted sentence
)

// Local is the offline, deterministic provider.
type Local struct{}

// New returns the local provider.
func New() *Local { return &Local{} }

// Name implements provider.Provider.
func (*Local) Name() string { return "local" }

// Complete implements provider.Provider: it answers the last user message
// from the request alone (messages, documents, tools), streaming the answer
// word by word.
func (l *Local) Complete(ctx context.Context, req provider.Request, onToken func(string)) (*provider.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}
	model := req.Model
	if model == "" {
		model = "local"
	}
	usage := provider.Usage{InputTokens: provider.EstimateTokens(promptText(req))}

	last := -1
	for i, m := range req.Messages {
		if m.Role == provider.RoleUser {
			last = i
		}
	}
	question := ""
	var results []provider.Message
	called := false
	if last >= 0 {
		question = req.Messages[last].Content
		for _, m := range req.Messages[last+1:] {
			switch {
			case m.Role == provider.RoleTool:
				results = append(results, m)
			case m.Role == provider.RoleAssistant && len(m.ToolCalls) > 0:
				called = true
			}
		}
	}

	var text string
	switch {
	case len(results) > 0:
		text = weave(req, results)
	case strings.TrimSpace(question) == "" || isGreeting(question):
		text = greet(question)
	default:
		if !called {
			if t, args, ok := pickTool(req.Tools, question); ok {
				call := provider.ToolCall{ID: fmt.Sprintf("call_%d", countCalls(req.Messages)+1), Name: t.Name, Arguments: args}
				usage.OutputTokens = provider.EstimateTokens(call.Name + call.Arguments)
				return &provider.Response{ToolCalls: []provider.ToolCall{call}, Usage: usage, FinishReason: provider.FinishToolCalls, Model: model}, nil
			}
		}
		text = extract(question, req.Documents)
	}

	finish := provider.FinishStop
	var b strings.Builder
	for _, tok := range splitTokens(text) {
		if req.MaxTokens > 0 && provider.EstimateTokens(b.String()+tok) > req.MaxTokens {
			finish = provider.FinishLength
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, cancelled(err)
		}
		b.WriteString(tok)
		if onToken != nil {
			onToken(tok)
		}
	}
	text = b.String()
	usage.OutputTokens = provider.EstimateTokens(text)
	return &provider.Response{Text: text, Usage: usage, FinishReason: finish, Model: model}, nil
}

func cancelled(err error) *provider.Error {
	return &provider.Error{Message: "the answer was cancelled", Err: err}
}

// promptText is everything the model reads, for the usage estimate.
func promptText(req provider.Request) string {
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString(m.Content)
		b.WriteByte('\n')
		for _, c := range m.ToolCalls {
			b.WriteString(c.Name + c.Arguments + "\n")
		}
	}
	for _, d := range req.Documents {
		b.WriteString(d.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// countCalls counts the tool calls already in the conversation, so that a
// new call's ID is unique within it and the same for the same request.
func countCalls(msgs []provider.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.ToolCalls)
	}
	return n
}

// splitTokens cuts text into words, each with the whitespace that follows
// it (leading whitespace stays with the first word), so that joining the
// tokens gives back the text exactly.
func splitTokens(text string) []string {
	var out []string
	start := 0
	inSpace := true
	for i, r := range text {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r'
		if !space && inSpace && i > start && strings.TrimSpace(text[start:i]) != "" {
			out = append(out, text[start:i])
			start = i
		}
		inSpace = space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

var (
	greetingWords = toSet(`hi hello hey hiya howdy heya yo hallo greetings welcome morning afternoon evening
good day there all everyone folks bot friend thanks thank you thx ty cheers much lot so very many bye
goodbye see later again how how's are doing is it going what's up sup ok okay great nice`)
	greetingCore = toSet("hi hello hey hiya howdy heya yo hallo greetings morning afternoon evening thanks thank thx ty cheers bye goodbye sup")
	thanksWords  = toSet("thanks thank thx ty cheers")
	byeWords     = toSet("bye goodbye")
)

// isGreeting tells whether a message is only a greeting, thanks or
// goodbye ("hi!", "good morning", "thanks a lot"), with no question in it.
func isGreeting(msg string) bool {
	ws := words(msg)
	if len(ws) == 0 || len(ws) > 8 {
		return false
	}
	core := false
	for i, w := range ws {
		if w == "a" {
			continue
		}
		if !greetingWords[w] {
			return false
		}
		core = core || greetingCore[w] || (w == "day" && i > 0 && ws[i-1] == "good")
	}
	return core
}

// greet answers a greeting in kind.
func greet(msg string) string {
	ws := words(msg)
	switch {
	case hasAny(ws, thanksWords):
		return "You're welcome! Is there anything else I can help you with?"
	case hasAny(ws, byeWords):
		return "Goodbye! Come back any time you have a question."
	case strings.Contains(strings.ToLower(msg), "how are you"):
		return "I'm doing well, thank you! How can I help you today?"
	}
	return "Hello! How can I help you today?"
}

// candidate is a sentence of a document and how well it matches.
type candidate struct {
	text    string
	doc     int
	pos     int
	overlap int
}

// extract answers from the documents: the sentences that share the most
// meaningful words with the question, from the best documents, followed by
// their sources. Without a sentence that matches well enough it answers
// DontKnow.
func extract(question string, docs []provider.Document) string {
	want := keywords(question)
	if len(want) == 0 || len(docs) == 0 {
		return DontKnow
	}
	// a long question needs more than one shared word, so that one
	// incidental word does not make an answer
	need := 1
	if len(want) >= 4 {
		need = 2
	}
	var cands []candidate
	for di, d := range docs {
		if di == maxDocuments {
			break
		}
		for si, s := range sentences(d.Text) {
			n := 0
			for k := range keywords(s) {
				if want[k] {
					n++
				}
			}
			if n >= need {
				cands = append(cands, candidate{text: s, doc: di, pos: si, overlap: n})
			}
		}
	}
	if len(cands) == 0 {
		return DontKnow
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.overlap != b.overlap {
			return a.overlap > b.overlap
		}
		if a.doc != b.doc {
			return a.doc < b.doc
		}
		return a.pos < b.pos
	})
	best := cands[0].overlap
	var picked []candidate
	seen := map[string]bool{}
	for _, c := range cands {
		if len(picked) == maxSentences || c.overlap*2 < best {
			break
		}
		if seen[c.text] {
			continue
		}
		seen[c.text] = true
		picked = append(picked, c)
	}
	// read them in the order they were written, best document first
	sort.SliceStable(picked, func(i, j int) bool {
		if picked[i].doc != picked[j].doc {
			return picked[i].doc < picked[j].doc
		}
		return picked[i].pos < picked[j].pos
	})
	var (
		quote   []string
		sources []string
		named   = map[string]bool{}
	)
	for _, c := range picked {
		quote = append(quote, endSentence(clip(c.text, maxSentenceLen)))
		src := sourceOf(docs[c.doc], c.doc)
		if !named[src] {
			named[src] = true
			sources = append(sources, "Source: "+src)
		}
	}
	return strings.Join(quote, " ") + "\n\n" + strings.Join(sources, "\n")
}

// sourceOf names where a document came from: its source, else its ID.
func sourceOf(d provider.Document, i int) string {
	switch {
	case strings.TrimSpace(d.Source) != "":
		return strings.TrimSpace(d.Source)
	case d.ID != "":
		return d.ID
	}
	return fmt.Sprintf("document %d", i+1)
}
