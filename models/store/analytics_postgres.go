package store

// dayExpr returns the SQL for the UTC day (YYYY-MM-DD) of a time column.
func dayExpr(dialect string) func(col string) string {
	if dialect == Postgres {
		return func(col string) string { return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')" }
	}
	return dayExprSQLite
}
