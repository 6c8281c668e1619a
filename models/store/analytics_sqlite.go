package store

// periodExprsSQLite is periodExprs on SQLite, where times are stored as UTC
// text starting "YYYY-MM-DD HH" (as the store writes them): the key is the
// period's key text itself.
func periodExprsSQLite(p period) (key, format func(string) string) {
	same := func(key string) string { return key }
	if p == hourPeriod {
		return func(col string) string { return "substr(" + col + ", 1, 10) || 'T' || substr(" + col + ", 12, 2)" }, same
	}
	return func(col string) string { return "substr(" + col + ", 1, 10)" }, same
}
