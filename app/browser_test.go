package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// chromiumPath finds Debian's chromium; outside CI a missing browser skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but chromium is not installed (apt-get install chromium)")
	}
	t.Skip("chromium not installed; skipping browser test")
	return ""
}

// buildBinary builds the real parley binary once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

var listenLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startBinary starts the binary on 127.0.0.1:0 and returns its base URL; the
// process is sent SIGTERM at cleanup.
func startBinary(t *testing.T, bin, dbURL string, env ...string) string {
	t.Helper()
	base, _ := startProcess(t, bin, dbURL, env...)
	return base
}

// startProcess is startBinary that also returns the process, for tests that
// stop it themselves.
func startProcess(t *testing.T, bin, dbURL string, env ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT=0", "DATABASE_URL="+dbURL, "PARLEY_ADMIN_EMAIL=", "PARLEY_ADMIN_PASSWORD=", "PARLEY_SECRET_KEY=")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState != nil {
			return // stopped by the test
		}
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return "http://" + a, cmd
	case <-time.After(30 * time.Second):
		t.Fatal("parley did not start")
	}
	return "", nil
}

// newBrowser starts headless chromium with the flags this machine needs.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Tabs in the background keep running (tests watch two at once).
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	// The first action allocates the browser for the life of this context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page as PARLEY_SCREENSHOT_DIR/name.png when that
// variable is set (how the README's screenshots are taken); otherwise it
// does nothing.
func screenshot(ctx context.Context, name string) {
	dir := os.Getenv("PARLEY_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// xq quotes s for XPath.
func xq(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return `concat('` + strings.ReplaceAll(s, `'`, `', "'", '`) + `')`
}

// field finds the input, textarea or select labelled text, as a person would.
func field(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[@id=//label[normalize-space(text())=%s]/@for]`, xq(text)))
}

// button finds a button by its visible text or accessible name.
func button(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%s or @aria-label=%s]`, xq(text), xq(text)))
}

// link finds a link by its text.
func link(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//a[normalize-space()=%s]`, xq(text)))
}

// heading finds an h1 with the text.
func heading(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//h1[normalize-space()=%s]`, xq(text)))
}

// visible waits until an element matching the XPath shows.
func visible(xpath string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.Search(xpath))
}

// fill empties the field, then types value into it like a person.
func fill(sel chromedp.Search, value string) chromedp.Action[chromedp.Void] {
	empty := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		expr := fmt.Sprintf(`(() => { const e = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
			if (!e) return false; e.value = ""; return true; })()`, string(sel))
		ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("no field %s", sel)
		}
		return err
	})
	return chromedp.Steps(chromedp.WaitVisible(sel), empty, chromedp.SendKeys(sel, value))
}

func click(sel chromedp.Search) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// choose selects the option with this visible text in the select labelled label.
func choose(label, option string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		expr := fmt.Sprintf(`(() => {
			const l = [...document.querySelectorAll('label')].find(l => l.textContent.trim() === %q);
			const s = l && document.getElementById(l.htmlFor);
			if (!s) return false;
			for (const o of s.options) if (o.text.trim() === %q) { s.value = o.value; return true; }
			return false; })()`, label, option)
		// The page may still be loading: try until it has the select and option.
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, t)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("no select %q with option %q (%v)", label, option, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// stepper returns a function that runs named browser steps, each within 20s,
// and on failure reports where the browser was and what the page said.
func stepper(t *testing.T, ctx context.Context) func(string, ...chromedp.Action[chromedp.Void]) {
	return func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			defer dcancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\nat %s:\n%s", name, err, loc, shorten(body, 2000))
		}
	}
}

// TestBrowserFirstRun walks a new user's first minutes in chromium: setup
// (with a validation error), sign out and in, create a dataset with a record,
// create a bot, attach the dataset with htmx, and see it all listed.
func TestBrowserFirstRun(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base := startBinary(t, bin, storetest.URL(t, d))
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)

			step("setup page shows on first start",
				chromedp.Navigate(base+"/"),
				chromedp.WaitVisible(heading("Welcome to Parley")))
			step("setup keeps input on error",
				fill(field("Email"), "admin@example.com"),
				fill(field("Password"), "short"),
				fill(field("Confirm password"), "short"),
				click(button("Create admin account")),
				visible(`//p[@class="error-text" and contains(., "at least 10 characters")]`))
			if text, _ := chromedp.Run(ctx, chromedp.Value(field("Email"))); text != "admin@example.com" {
				t.Errorf("email after a failed setup = %q, want it kept", text)
			}
			step("setup creates the admin",
				fill(field("Your name"), "Ada"),
				fill(field("Password"), "correct horse battery"),
				fill(field("Confirm password"), "correct horse battery"),
				click(button("Create admin account")),
				chromedp.WaitVisible(heading("Dashboard")))
			step("sign out and back in",
				click(button("Sign out")),
				chromedp.WaitVisible(heading("Sign in to Parley")),
				fill(field("Email"), "admin@example.com"),
				fill(field("Password"), "correct horse battery"),
				click(button("Sign in")),
				chromedp.WaitVisible(heading("Dashboard")))

			step("create a dataset",
				click(link("Datasets")),
				click(link("New dataset")),
				fill(field("Name"), "Billing FAQ"),
				click(button("Create dataset")),
				chromedp.WaitVisible(heading("Billing FAQ")))
			step("add a record",
				fill(field("Text"), "Refunds are issued within 14 days of purchase."),
				fill(field("Source"), "https://help.example/refunds"),
				click(button("Add record")),
				visible(`//td[contains(., "Refunds are issued within 14 days")]`))

			step("create a bot",
				click(link("Bots")),
				click(chromedp.Search(`//a[normalize-space()="New bot" or normalize-space()="Create your first bot"]`)),
				fill(field("Name"), "Billing bot"),
				fill(field("Backstory"), "You answer billing questions from the FAQ."),
				click(button("Create bot")),
				chromedp.WaitVisible(heading("Billing bot")))
			step("attach the dataset (htmx)",
				choose("Dataset to attach", "Billing FAQ"),
				click(button("Attach dataset")),
				visible(`//section[@aria-labelledby="h-datasets"]//a[normalize-space()="Billing FAQ"]`),
				chromedp.WaitVisible(button("Detach dataset Billing FAQ")))
			step("the attachment persists and the bot is listed",
				chromedp.Reload(),
				visible(`//section[@aria-labelledby="h-datasets"]//a[normalize-space()="Billing FAQ"]`),
				click(link("Bots")),
				visible(`//table//a[normalize-space()="Billing bot"]`))

			if dir := os.Getenv("PARLEY_SCREENSHOT_DIR"); dir != "" {
				step("open the bot", click(chromedp.Search(`//table//a[normalize-space()="Billing bot"]`)), chromedp.WaitVisible(heading("Billing bot")))
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				_ = os.WriteFile(filepath.Join(dir, "bot-"+d+".png"), png, 0o644)
			}
		})
	}
}

// seeded loads the demo data into a fresh database of dialect d, starts the
// binary on it with an admin (email, "correct horse battery") and returns
// the base URL and the database URL.
func seeded(t *testing.T, bin, d, email string) (base, dbURL string) {
	t.Helper()
	dbURL = storetest.URL(t, d)
	seed := exec.Command(bin, "seed")
	seed.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	return startBinary(t, bin, dbURL, "PARLEY_ADMIN_EMAIL="+email, "PARLEY_ADMIN_PASSWORD=correct horse battery"), dbURL
}

// signIn signs in as email with the seeded password and waits for the dashboard.
func signIn(base, email string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		fill(field("Email"), email),
		fill(field("Password"), "correct horse battery"),
		click(button("Sign in")),
		chromedp.WaitVisible(heading("Dashboard")))
}

// TestBrowserWorkbench chats with the seeded bot: the answer streams in and
// quotes a dataset record, and the timeline's context entry shows the record
// with its score.
func TestBrowserWorkbench(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base, _ := seeded(t, bin, d, "qa-lead@example.com")
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			step("sign in", signIn(base, "qa-lead@example.com"))
			step("start a test conversation with the seeded bot",
				click(link("Conversations")),
				click(link("New test conversation")),
				chromedp.WaitVisible(heading("New test conversation")),
				choose("Bot", "Northwind Support"),
				fill(field("Name"), "Browser refund check"),
				click(button("Start conversation")),
				chromedp.WaitVisible(heading("Browser refund check")))
			step("ask, and see the streamed answer quote the help center",
				fill(field("Message"), "Can I get a refund on my annual Plus plan?"),
				click(button("Send")),
				visible(`//div[@id="chat"]/div[contains(@class,"bubble") and contains(@class,"user") and contains(., "annual Plus plan")]`),
				visible(`//div[@id="chat"]/div[contains(@class,"bot") and not(contains(@class,"streaming")) and contains(., "refunded in full within 30 days") and contains(., "Source: https://help.northwind.example/billing/refunds")]`))
			step("open the context entry and see the record with its score",
				click(chromedp.Search(`//ol[@id="timeline"]/li[contains(@class,"type-context")]//summary[starts-with(normalize-space(), "Retrieved records")]`)),
				visible(`//ol[@id="timeline"]/li[contains(@class,"type-context")]//table//tr[td[@class="num" and string-length(normalize-space()) = 4] and .//a[starts-with(normalize-space(), "record ")] and contains(., "billing/refunds")]`))
			screenshot(ctx, "workbench-"+d)
		})
	}
}
