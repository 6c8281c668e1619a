package store

// periodExprs returns, for a time column, the SQL of what it is grouped by
// per period p (key) and of that key as p's key text (format): on
// PostgreSQL a date or a truncated timestamp (cheaper to group than text;
// formatted once per group), on SQLite periodExprsSQLite's text.
func periodExprs(dialect string, p period) (key, format func(string) string) {
	if dialect != Postgres {
		return periodExprsSQLite(p)
	}
	if p == hourPeriod {
		return func(col string) string { return "date_trunc('hour', " + col + " AT TIME ZONE 'UTC')" },
			func(key string) string { return "to_char(" + key + `, 'YYYY-MM-DD"T"HH24')` }
	}
	return func(col string) string { return "(" + col + " AT TIME ZONE 'UTC')::date" },
		func(key string) string { return "to_char(" + key + ", 'YYYY-MM-DD')" }
}
