package store

import (
	"strings"
	"sync"
)

// termStatsCache keeps, on PostgreSQL, the term statistics searches read,
// per set of datasets, with the stamp they were read at: the xmin of the
// datasets' record-count rows of dataset_terms (the empty term), which
// changes with every write that changes a record's words — migration 9's
// triggers rewrite that row of each dataset they count for, in every
// instance's writes alike.
// A search planned from cached statistics reads the stamp back in its own
// statement, so a search costs one statement where it cost two; when the
// stamp differs, or the search found fewer records than asked for (it may
// have missed words the cache thought absent), the statistics are read
// again and, if they changed, the search is planned and run again
// (SearchRecords). Results are therefore always those of fresh statistics.
type termStatsCache struct {
	mu      sync.Mutex
	entries map[string]*termStatsEntry // by dataset ids, joined
	reads   int                        // statistics read from the database (tests)
}

type termStatsEntry struct {
	stamp string
	total int64
	terms map[string]int64
}

// Bounds of the cache: the dataset sets kept, and terms kept per set. Past
// either, the cache (or the set's terms) starts again empty.
const (
	maxTermStatsSets  = 256
	maxTermStatsTerms = 20000
)

func termStatsKey(ids []string) string { return strings.Join(ids, ",") }

// get returns the cached statistics of terms in the datasets ids and their
// stamp, if every term is cached.
func (c *termStatsCache) get(ids, terms []string) (termStats, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[termStatsKey(ids)]
	if e == nil {
		return termStats{}, "", false
	}
	st := termStats{records: make([]int64, len(terms)), total: e.total}
	for i, t := range terms {
		n, ok := e.terms[t]
		if !ok {
			return termStats{}, "", false
		}
		st.records[i] = n
	}
	return st, e.stamp, true
}

// put keeps statistics read at stamp: added to the set's entry if it was
// read at the same stamp, replacing it otherwise.
func (c *termStatsCache) put(ids, terms []string, st termStats, stamp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	key := termStatsKey(ids)
	e := c.entries[key]
	if e == nil || e.stamp != stamp || len(e.terms)+len(terms) > maxTermStatsTerms {
		if c.entries == nil || (e == nil && len(c.entries) >= maxTermStatsSets) {
			c.entries = map[string]*termStatsEntry{}
		}
		e = &termStatsEntry{stamp: stamp, total: st.total, terms: make(map[string]int64, len(terms))}
		c.entries[key] = e
	}
	for i, t := range terms {
		e.terms[t] = st.records[i]
	}
}

// readCount is how many times statistics were read from the database.
func (c *termStatsCache) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// pgTermStamp is the stamp of the datasets' statistics (one parameter: the
// dataset ids), as an expression.
const pgTermStamp = `(SELECT coalesce(string_agg(dataset_id || ':' || xmin::text, ',' ORDER BY dataset_id), '') FROM dataset_terms WHERE term = '' AND dataset_id IN ?)`
