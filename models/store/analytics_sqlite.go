package store

// dayExprSQLite is the UTC day of a time column as SQLite stores times
// (text starting YYYY-MM-DD, in UTC as the store writes them).
func dayExprSQLite(col string) string { return "substr(" + col + ", 1, 10)" }
