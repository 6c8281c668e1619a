package store

// dayExpr returns the SQL for the UTC day (YYYY-MM-DD) of a day key
// (dayKeyExpr of a time column).
func dayExpr(dialect string) func(key string) string {
	if dialect == Postgres {
		return func(key string) string { return "to_char(" + key + ", 'YYYY-MM-DD')" }
	}
	return func(key string) string { return key }
}

// dayKeyExpr returns the SQL for what a time column is grouped by per UTC
// day: on PostgreSQL its date (cheaper to group than text; formatted once
// per group by dayExpr), on SQLite dayExprSQLite.
func dayKeyExpr(dialect string) func(col string) string {
	if dialect == Postgres {
		return func(col string) string { return "(" + col + " AT TIME ZONE 'UTC')::date" }
	}
	return dayExprSQLite
}
