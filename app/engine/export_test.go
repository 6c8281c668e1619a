package engine

// SetRecoverPage sets how many conversations Recover reads at a time, so a
// test can make it read several pages; it returns a function restoring it.
func SetRecoverPage(n int) func() {
	old := recoverPage
	recoverPage = n
	return func() { recoverPage = old }
}
