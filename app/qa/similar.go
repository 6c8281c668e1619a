package qa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"parley/app/provider"
	"parley/models"
)

// Similarity is an offline, deterministic lexical similarity of two texts,
// 0..1: the cosine of their word-count vectors (lower-cased words of letters
// and digits, common function words left out). Same words in any order
// score 1; texts with no word in common score 0.
func Similarity(a, b string) float64 {
	va, vb := wordCounts(a), wordCounts(b)
	if len(va) == 0 || len(vb) == 0 {
		if len(va) == 0 && len(vb) == 0 {
			return 1
		}
		return 0
	}
	var dot, na, nb float64
	for w, x := range va {
		na += x * x
		dot += x * vb[w]
	}
	for _, y := range vb {
		nb += y * y
	}
	return math.Round(dot/math.Sqrt(na*nb)*1000) / 1000
}

// stopWords are left out of the similarity: they say little about meaning.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with from as is are was were be been
		it its this that these those i you we they he she my your our their me us them so do does did not no can will
		would should could there here than then also just very`) {
		m[w] = true
	}
	return m
}()

func wordCounts(s string) map[string]float64 {
	out := map[string]float64{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if !stopWords[w] {
			out[w]++
		}
	}
	return out
}

// judge grades an answer against an assertion's expected answer with an LLM
// and its rubric: a score 0..1, a verdict (pass or fail) and a rationale.
type judge func(ctx context.Context, a models.Assertion, answer string) (score float64, verdict, rationale string, err error)

// judgeTimeout bounds one LLM judge call.
const judgeTimeout = 60 * time.Second

// judgePrompt is what an LLM judge is told.
const judgePrompt = `You grade a chatbot's answer against the expected answer for a regression test.
Judge whether the actual answer says what the expected answer says (facts, figures, steps, links); wording may differ.
Rubric: %s
Reply with one JSON object and nothing else: {"score": a number from 0 to 1, "verdict": "pass" or "fail", "rationale": "one or two sentences saying why"}`

// judge returns the runner's LLM judge: the assertion's model, resolved as a
// bot's model is.
func (r *Runner) judge() judge {
	return func(ctx context.Context, a models.Assertion, answer string) (float64, string, string, error) {
		ctx, cancel := context.WithTimeout(ctx, judgeTimeout)
		defer cancel()
		prov, model, err := r.opts.Providers(ctx, a.Judge)
		if err != nil {
			return 0, "", "", err
		}
		rubric := strings.TrimSpace(a.Rubric)
		if rubric == "" {
			rubric = "the same facts and advice; nothing wrong or invented."
		}
		resp, err := prov.Complete(ctx, provider.Request{Model: model, Messages: []provider.Message{
			{Role: provider.RoleSystem, Content: fmt.Sprintf(judgePrompt, rubric)},
			{Role: provider.RoleUser, Content: "Expected answer:\n" + a.Text + "\n\nActual answer:\n" + answer},
		}}, nil)
		if err != nil {
			return 0, "", "", err
		}
		return parseVerdict(resp.Text)
	}
}

// parseVerdict reads a judge's JSON reply (the first object in the text).
func parseVerdict(text string) (float64, string, string, error) {
	i, j := strings.IndexByte(text, '{'), strings.LastIndexByte(text, '}')
	if i < 0 || j < i {
		return 0, "", "", fmt.Errorf("the judge did not reply with JSON: %s", quote(text))
	}
	var v struct {
		Score     any    `json:"score"`
		Verdict   string `json:"verdict"`
		Rationale string `json:"rationale"`
	}
	if err := json.Unmarshal([]byte(text[i:j+1]), &v); err != nil {
		return 0, "", "", fmt.Errorf("the judge's reply is not valid JSON: %s", quote(text))
	}
	score := -1.0
	switch s := v.Score.(type) {
	case float64:
		score = s
	case string:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			score = f
		}
	}
	verdict := strings.ToLower(strings.TrimSpace(v.Verdict))
	if verdict != "pass" && verdict != "fail" {
		return 0, "", "", fmt.Errorf("the judge's verdict is %q, not pass or fail", v.Verdict)
	}
	if score < 0 || score > 1 {
		score = map[string]float64{"pass": 1, "fail": 0}[verdict]
	}
	return score, verdict, strings.TrimSpace(v.Rationale), nil
}

// similar checks a similar assertion: lexically, or with the LLM judge the
// assertion names (its verdict and rationale are kept).
func similar(ctx context.Context, a models.Assertion, text string, j judge, r models.AssertionResult) models.AssertionResult {
	th := strconv.FormatFloat(a.Threshold, 'g', -1, 64)
	if a.Judge == "" {
		score := Similarity(a.Text, text)
		r.Score, r.Pass = &score, score >= a.Threshold
		if r.Pass {
			r.Message = fmt.Sprintf("lexical similarity %.2f ≥ %s", score, th)
		} else {
			r.Message = fmt.Sprintf("lexical similarity %.2f is below %s; the answer is %s", score, th, quote(text))
		}
		return r
	}
	score, verdict, why, err := j(ctx, a, text)
	if err != nil {
		r.Message = "the judge (" + a.Judge + ") could not grade the answer: " + userMessage(err)
		return r
	}
	r.Score, r.Verdict, r.Rationale = &score, verdict, why
	r.Pass = verdict == "pass" && score >= a.Threshold
	r.Message = fmt.Sprintf("judged %s with score %.2f (threshold %s): %s", verdict, score, th, why)
	return r
}

// userMessage is an error's message fit to show.
func userMessage(err error) string {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	if models.ErrorCode(err) != models.CodeInternal {
		return models.ErrorMessage(err)
	}
	return err.Error()
}
