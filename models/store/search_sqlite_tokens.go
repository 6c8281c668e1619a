package store

// This file tokenizes ASCII text the way dataset_records_fts does
// (tokenize='porter unicode61', migration 2), so a search can tell which of
// its terms a record contains from the record's own text instead of probing
// the full-text index once per record and term.
//
// Only ASCII is handled: on ASCII input unicode61 (default options) keeps
// runs of [0-9A-Za-z] as tokens and folds A-Z to a-z, and the porter
// tokenizer stems each token of 3 to 64 bytes with SQLite's own variant of
// the Porter algorithm (fts5_tokenize.c), reproduced below rule for rule.
// Anything else (a non-ASCII record or term) is left to FTS5 itself (see
// searchSQLite). TestFTSTokensAgree checks these stems against FTS5's on
// many words.

// ftsASCII reports whether s is all ASCII.
func ftsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ftsTokenByte reports whether c (ASCII) is part of a token for unicode61.
func ftsTokenByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ftsEachToken calls f with each token of the ASCII text s, folded and
// stemmed as dataset_records_fts indexes it, except those whose folded word
// stem does not want (nil: none); buf is scratch space reused between tokens
// (f must not keep its argument). A stem is never longer than its word and
// starts with the same letter (TestFTSTokensAgree checks both).
func ftsEachToken(s string, buf []byte, stem func(word []byte) bool, f func(tok []byte)) []byte {
	for i := 0; i < len(s); {
		if !ftsTokenByte(s[i]) {
			i++
			continue
		}
		buf = buf[:0]
		for ; i < len(s) && ftsTokenByte(s[i]); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
		}
		if stem == nil || stem(buf) {
			buf = porterStem(buf)
			f(buf)
		}
	}
	return buf
}

// ftsTerm is the single token an ASCII search term (letters and digits, see
// models.SearchTerms) stands for in a MATCH, and whether it is one: false
// when the term is not ASCII or would not be exactly one token.
func ftsTerm(term string) (string, bool) {
	if term == "" || !ftsASCII(term) {
		return "", false
	}
	for i := 0; i < len(term); i++ {
		if !ftsTokenByte(term[i]) {
			return "", false
		}
	}
	var tok string
	ftsEachToken(term, nil, nil, func(b []byte) { tok = string(b) })
	return tok, true
}

// porterMaxToken: longer tokens (in bytes) are not stemmed, nor are those
// shorter than 3.
const porterMaxToken = 64

// porterVowel reports whether c is a vowel; y is one when yVowel.
func porterVowel(c byte, yVowel bool) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || yVowel && c == 'y'
}

// porterGobbleVC skips to the first vowel of w, then past the first
// consonant after it, and returns how many bytes that took, or 0 when w has
// no such vowel-consonant sequence. prevCons tells whether the byte before w
// is a consonant (y after a consonant is a vowel).
func porterGobbleVC(w []byte, prevCons bool) int {
	cons := prevCons
	i := 0
	for ; i < len(w); i++ {
		cons = !porterVowel(w[i], cons)
		if !cons {
			break
		}
	}
	for i++; i < len(w); i++ {
		cons = !porterVowel(w[i], cons)
		if cons {
			return i + 1
		}
	}
	return 0
}

// porterMGt0 is the condition m > 0 on the stem w.
func porterMGt0(w []byte) bool { return porterGobbleVC(w, false) != 0 }

// porterMGt1 is the condition m > 1 on the stem w.
func porterMGt1(w []byte) bool {
	n := porterGobbleVC(w, false)
	return n != 0 && porterGobbleVC(w[n:], true) != 0
}

// porterMEq1 is the condition m = 1 on the stem w.
func porterMEq1(w []byte) bool {
	n := porterGobbleVC(w, false)
	return n != 0 && porterGobbleVC(w[n:], true) == 0
}

// porterOStar is the condition *o: w ends consonant-vowel-consonant, the
// last not w, x or y.
func porterOStar(w []byte) bool {
	switch w[len(w)-1] {
	case 'w', 'x', 'y':
		return false
	}
	mask, cons := 0, false
	for _, c := range w {
		cons = !porterVowel(c, cons)
		mask <<= 1
		if cons {
			mask++
		}
	}
	return mask&7 == 5
}

// porterST is the condition m > 1 and (*S or *T).
func porterST(w []byte) bool {
	c := w[len(w)-1]
	return (c == 's' || c == 't') && porterMGt1(w)
}

// porterHasVowel is the condition *v*: a vowel anywhere, y counting as one
// everywhere but first.
func porterHasVowel(w []byte) bool {
	for i, c := range w {
		if porterVowel(c, i > 0) {
			return true
		}
	}
	return false
}

// porterRule replaces suffix with out when the stem before it (never empty)
// meets cond (nil: always).
type porterRule struct {
	suffix, out string
	cond        func([]byte) bool
}

// porterStep is a step's rules by the second-to-last letter of their
// suffix, as SQLite groups them: only the group of the word's second-to-last
// letter can match it. The rules of a group are in SQLite's order; i is
// each one's index in the step's list.
type porterStep [256][]struct {
	porterRule
	i int
}

// porterGroup groups a step's rules (see porterStep).
func porterGroup(rules []porterRule) *porterStep {
	var st porterStep
	for i, r := range rules {
		c := r.suffix[len(r.suffix)-2]
		st[c] = append(st[c], struct {
			porterRule
			i int
		}{r, i})
	}
	return &st
}

// porterApply applies the first rule whose suffix w ends with (and is
// longer than), if its condition holds: as in SQLite, a matching suffix whose
// condition fails ends the step (no later rule is tried). It returns the
// index of the rule applied, or -1.
func porterApply(w []byte, step *porterStep) ([]byte, int) {
	if len(w) < 3 {
		return w, -1 // every suffix has 2 letters or more
	}
	for _, r := range step[w[len(w)-2]] {
		if len(w) <= len(r.suffix) || string(w[len(w)-len(r.suffix):]) != r.suffix {
			continue
		}
		stem := w[:len(w)-len(r.suffix)]
		if r.cond != nil && !r.cond(stem) {
			return w, -1
		}
		return append(stem, r.out...), r.i
	}
	return w, -1
}

// The rules of each step, in SQLite's order.
var (
	porterStep1B = porterGroup([]porterRule{
		{"eed", "ee", porterMGt0}, {"ed", "", porterHasVowel}, {"ing", "", porterHasVowel},
	})
	porterStep1B2 = porterGroup([]porterRule{{"at", "ate", nil}, {"bl", "ble", nil}, {"iz", "ize", nil}})
	porterStep2   = porterGroup([]porterRule{
		{"ational", "ate", porterMGt0}, {"tional", "tion", porterMGt0},
		{"enci", "ence", porterMGt0}, {"anci", "ance", porterMGt0},
		{"izer", "ize", porterMGt0},
		{"logi", "log", porterMGt0},
		{"bli", "ble", porterMGt0}, {"alli", "al", porterMGt0}, {"entli", "ent", porterMGt0}, {"eli", "e", porterMGt0}, {"ousli", "ous", porterMGt0},
		{"ization", "ize", porterMGt0}, {"ation", "ate", porterMGt0}, {"ator", "ate", porterMGt0},
		{"alism", "al", porterMGt0}, {"iveness", "ive", porterMGt0}, {"fulness", "ful", porterMGt0}, {"ousness", "ous", porterMGt0},
		{"aliti", "al", porterMGt0}, {"iviti", "ive", porterMGt0}, {"biliti", "ble", porterMGt0},
	})
	porterStep3 = porterGroup([]porterRule{
		{"ical", "ic", porterMGt0},
		{"ness", "", porterMGt0},
		{"icate", "ic", porterMGt0}, {"iciti", "ic", porterMGt0},
		{"ful", "", porterMGt0},
		{"ative", "", porterMGt0},
		{"alize", "al", porterMGt0},
	})
	porterStep4 = porterGroup([]porterRule{
		{"al", "", porterMGt1},
		{"ance", "", porterMGt1}, {"ence", "", porterMGt1},
		{"er", "", porterMGt1},
		{"ic", "", porterMGt1},
		{"able", "", porterMGt1}, {"ible", "", porterMGt1},
		{"ant", "", porterMGt1}, {"ement", "", porterMGt1}, {"ment", "", porterMGt1}, {"ent", "", porterMGt1},
		{"ion", "", porterST}, {"ou", "", porterMGt1},
		{"ism", "", porterMGt1},
		{"ate", "", porterMGt1}, {"iti", "", porterMGt1},
		{"ous", "", porterMGt1},
		{"ive", "", porterMGt1},
		{"ize", "", porterMGt1},
	})
)

// porterStem stems the folded token w in place, as SQLite's porter
// tokenizer does, and returns it.
func porterStem(w []byte) []byte {
	if len(w) > porterMaxToken || len(w) < 3 {
		return w
	}
	// Step 1a.
	if n := len(w); w[n-1] == 's' {
		switch {
		case w[n-2] == 'e' && (n > 4 && w[n-4] == 's' && w[n-3] == 's' || n > 3 && w[n-3] == 'i'):
			w = w[:n-2]
		case w[n-2] == 'e' || w[n-2] != 's':
			w = w[:n-1]
		}
	}
	// Step 1b: only removing -ed or -ing (rules 1 and 2, not eed→ee) goes on
	// to at→ate, bl→ble, iz→ize or else the double or CVC ending.
	var i int
	if w, i = porterApply(w, porterStep1B); i > 0 {
		if w, i = porterApply(w, porterStep1B2); i < 0 {
			n := len(w)
			c := w[n-1]
			if !porterVowel(c, false) && c != 'l' && c != 's' && c != 'z' && n > 1 && c == w[n-2] {
				w = w[:n-1]
			} else if porterMEq1(w) && porterOStar(w) {
				w = append(w, 'e')
			}
		}
	}
	// Step 1c.
	if n := len(w); w[n-1] == 'y' && porterHasVowel(w[:n-1]) {
		w[n-1] = 'i'
	}
	// Steps 2 to 4.
	w, _ = porterApply(w, porterStep2)
	w, _ = porterApply(w, porterStep3)
	w, _ = porterApply(w, porterStep4)
	// Step 5a.
	if n := len(w); w[n-1] == 'e' && (porterMGt1(w[:n-1]) || porterMEq1(w[:n-1]) && !porterOStar(w[:n-1])) {
		w = w[:n-1]
	}
	// Step 5b.
	if n := len(w); n > 1 && w[n-1] == 'l' && w[n-2] == 'l' && porterMGt1(w[:n-1]) {
		w = w[:n-1]
	}
	return w
}
