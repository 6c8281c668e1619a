package qa

// SetResumePage sets how many runs and replays Resume reads at a time, so a
// test can make it read several pages; it returns a function restoring it.
func SetResumePage(n int) func() {
	old := resumePage
	resumePage = n
	return func() { resumePage = old }
}
