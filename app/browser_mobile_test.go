package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

var seededIDs = regexp.MustCompile(`(?s)/bots/(\S+).*/datasets/(\S+).*/skillsets/(\S+).*/conversations/(\S+)`)

// TestBrowserMobile opens every page at 390 px wide (a phone): none scrolls
// sideways, the navigation sits behind a Menu button that opens and closes
// with the keyboard, and Sign out stays reachable.
func TestBrowserMobile(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	d := storetest.Dialects(t)[0]
	dbURL := storetest.URL(t, d)
	seed := exec.Command(bin, "seed")
	seed.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	out, err := seed.CombinedOutput()
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	m := seededIDs.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("seed printed no ids: %s", out)
	}
	bot, ds, ks, conv := m[1], m[2], m[3], m[4]
	base := startBinary(t, bin, dbURL, "PARLEY_ADMIN_EMAIL=phone@example.com", "PARLEY_ADMIN_PASSWORD=correct horse battery")
	ctx := newBrowser(t, chrome)
	step := stepper(t, ctx)
	step("a phone-sized screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	fits := waitJS(`document.readyState === "complete" && document.documentElement.scrollWidth <= window.innerWidth`)
	step("the sign-in page fits", chromedp.Navigate(base+"/login"), fits)
	step("sign in", signIn(base, "phone@example.com"))
	step("the menu opens and closes with the keyboard; Sign out is in reach",
		visible(`//button[@id="menu-toggle" and @aria-expanded="false"]`),
		waitJS(`getComputedStyle(document.getElementById("main-nav")).display === "none"`),
		chromedp.Focus(chromedp.Search(`//button[@id="menu-toggle"]`)),
		chromedp.KeyEvent("\r"),
		visible(`//nav[@id="main-nav"]//a[normalize-space()="Bots"]`),
		chromedp.KeyEvent("\u001b"), // Escape
		waitJS(`getComputedStyle(document.getElementById("main-nav")).display === "none"`),
		visible(`//button[normalize-space()="Sign out"]`))
	for _, path := range []string{
		"/", "/bots", "/bots/new", "/bots/" + bot, "/bots/" + bot + "/edit", "/bots/" + bot + "/versions",
		"/datasets", "/datasets/new", "/datasets/" + ds, "/datasets/" + ds + "/import", "/datasets/" + ds + "/imports",
		"/skillsets", "/skillsets/new", "/skillsets/" + ks,
		"/conversations", "/conversations/new", "/conversations/" + conv,
		"/operators", "/operators/new", "/secrets", "/secrets/new", "/session-tokens",
		"/providers", "/providers/new", "/vault", "/vault/new",
		"/integrations", "/contacts", "/widgets", "/widgets/new", "/analytics", "/audit",
	} {
		step(fmt.Sprintf("%s fits 390 px", path), chromedp.Navigate(base+path), fits,
			visible(`//button[normalize-space()="Sign out"]`))
		screenshot(ctx, "phone"+strings.NewReplacer("/", "-").Replace(path))
	}
	step("on a desktop screen the navigation fits one line; Settings opens by keyboard and Escape closes it",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/bots"),
		// One row of entries, none of them broken over two lines.
		waitJS(`document.readyState === "complete" && getComputedStyle(document.getElementById("menu-toggle")).display === "none" &&
			new Set([...document.querySelectorAll("#main-nav > ul > li")].map(li => li.getBoundingClientRect().top)).size === 1 &&
			[...document.querySelectorAll("#main-nav > ul > li > a")].every(a => a.getClientRects().length === 1) &&
			!document.getElementById("nav-settings").open`),
		chromedp.Focus(chromedp.Search(`//details[@id="nav-settings"]/summary`)),
		chromedp.KeyEvent("\r"),
		visible(`//details[@id="nav-settings"]//a[normalize-space()="Operators"]`),
		chromedp.KeyEvent("\u001b"), // Escape
		waitJS(`!document.getElementById("nav-settings").open`),
		chromedp.KeyEvent("\r"),
		click(link("Operators")),
		chromedp.WaitVisible(heading("Operators")),
		visible(`//details[@id="nav-settings"]/summary[contains(@class,"current")]`))
}
