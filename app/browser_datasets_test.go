package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/models/store/storetest"
)

// pick selects the option with this visible text in the select labelled
// label and tells the page, as a person choosing it does (htmx listens for
// the change).
func pick(label, option string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(choose(label, option), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		expr := fmt.Sprintf(`(() => { const l = [...document.querySelectorAll('label')].find(l => l.textContent.trim() === %q);
			document.getElementById(l.htmlFor).dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, label)
		_, err := chromedp.Evaluate[bool](expr)(ctx, t)
		return err
	}))
}

// clicks counts a person's clicks and the pages they load: a click that loads
// a page (a link, a form posted and its redirect) replaces the window, and
// so the marker set before it.
type clicks struct {
	n, loads int
}

// click clicks sel and waits for what it brings (done), counting the click
// and whether it loaded a page.
func (cl *clicks) click(sel chromedp.Search, done chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		waitJS(`(window.__sameWindow = true)`),
		click(sel),
		done,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			same, err := chromedp.Evaluate[bool](`window.__sameWindow === true`)(ctx, t)
			if err != nil {
				return err
			}
			cl.n++
			if !same {
				cl.loads++
			}
			return nil
		}))
}

// TestBrowserDatasetImport imports a Q&A CSV of 120 rows into the seeded
// dataset through its preview, in chromium: the columns show once the file
// is chosen, a template with an unknown placeholder is refused next to the
// field, the fixed template's records show as they will be stored (htmx
// swaps the preview in place, the file is sent once), and the import lands
// as one batch; then the whole import goes in one confirmation (counting
// the clicks and page loads it takes), and two records picked by their
// checkboxes go in another.
func TestBrowserDatasetImport(t *testing.T) {
	chrome := chromiumPath(t)
	bin := buildBinary(t)
	var csv strings.Builder
	csv.WriteString("question,answer,url\n")
	for i := range 120 {
		fmt.Fprintf(&csv, "How do I do task %d?,\"Open Settings, then task %d.\",https://help.example/tasks/%d\n", i, i, i)
	}
	file := filepath.Join(t.TempDir(), "qa.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			base, _ := seeded(t, bin, d, "builder-lead@example.com")
			ctx := newBrowser(t, chrome)
			step := stepper(t, ctx)
			shot := func(name string) { screenshot(ctx, "datasets-"+name+"-"+d) }
			step("sign in and open the seeded dataset", signIn(base, "builder-lead@example.com"),
				click(link("Datasets")),
				click(link("Northwind Help Center")),
				chromedp.WaitVisible(heading("Northwind Help Center")),
				visible(`//p[contains(., "20 records in this dataset.")]`))
			step("choose the file and preview it: the columns show",
				click(link("Import records")),
				chromedp.WaitVisible(heading("Import records into Northwind Help Center")),
				waitJS(`(window.__sameWindow = true)`),
				chromedp.SetUploadFiles(chromedp.Search(`//input[@id="f-file"]`), []string{file}),
				click(button("Preview")),
				visible(`//h2[@id="h-preview-file" and normalize-space()="qa.csv"]`),
				visible(`//table[@class="csv-sample"]//th[normalize-space()="question"]/following-sibling::th[normalize-space()="answer"]`),
				waitJS(`document.getElementById("f-textColumn").value === "question"`),
				visible(`//p[contains(., "The first 5 of 120 records this import makes.")]`))
			step("the preview swapped in place (no page load), its address pushed",
				waitJS(`location.pathname.includes("/uploads/")`),
				waitJS(`window.__sameWindow === true`))
			step("a template with an unknown placeholder is refused next to the field",
				click(chromedp.Search(`//label[normalize-space()="Several columns, with a template"]`)),
				fill(field("Text template"), "Q: {question}\nA: {answr}"),
				pick("Source column", "url"),
				visible(`//p[@id="e-textTemplate" and contains(., 'there is no column "answr"')]`),
				visible(`//textarea[@id="f-textTemplate" and @aria-invalid="true"]`),
				waitJS(`document.getElementById("f-textTemplate").value === "Q: {question}\nA: {answr}"`))
			step("the fixed template's records show as they will be stored",
				fill(field("Text template"), "Q: {question}\nA: {answer}"),
				pick("Source column", "url"),
				visible(`//ol[@class="preview-records"]/li[1][pre[normalize-space()="Q: How do I do task 0? A: Open Settings, then task 0."] and .//dd[normalize-space()="https://help.example/tasks/0"]]`),
				waitJS(`document.querySelector("pre.record-text").textContent === "Q: How do I do task 0?\nA: Open Settings, then task 0."`),
				waitJS(`window.__sameWindow === true`))
			shot("preview")
			step("the preview fits a phone without scrolling sideways",
				chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
				waitJS(`document.documentElement.scrollWidth <= window.innerWidth`),
				chromedp.EmulateViewport(1280, 900))
			step("import: one batch of 120 records",
				click(button("Import 120 records")),
				chromedp.WaitVisible(heading("Northwind Help Center")),
				visible(`//p[contains(@class,"flash") and contains(., "Imported 120 records from qa.csv.")]`),
				visible(`//p[contains(., "140 records in this dataset.")]`),
				visible(`//section[@aria-labelledby="h-imports"]//li[contains(., "qa.csv") and .//span[@class="num" and normalize-space()="120 records"]]`))
			step("the records table has the page's width",
				waitJS(`document.querySelector("table.records").getBoundingClientRect().width > 0.9 * document.getElementById("main").clientWidth - 100`))
			shot("dataset")

			var cl clicks
			step("remove the import's 120 records with one confirmation",
				cl.click(link("Undo"), chromedp.WaitVisible(chromedp.Search(`//h1[starts-with(normalize-space(), "Remove the 120 records of the import of “qa.csv”")]`))),
				cl.click(button("Remove 120 records"), visible(`//p[contains(@class,"flash") and contains(., "Removed 120 records imported from qa.csv")]`)),
				visible(`//p[contains(., "20 records in this dataset.")]`),
				visible(`//section[@aria-labelledby="h-imports"]//li[contains(., "qa.csv") and .//span[normalize-space()="undone"]]`))
			if cl.n != 2 || cl.loads != 2 {
				t.Errorf("removing an import's 120 records took %d clicks and %d page loads, want 2 and 2", cl.n, cl.loads)
			}
			t.Logf("removing the 120 records of an import: %d clicks, %d page loads (one record at a time: 240 clicks, 240 page loads)", cl.n, cl.loads)

			step("pick two records by their checkboxes and delete them with one confirmation",
				click(chromedp.Search(`(//table[contains(@class,"records")]//input[@name="ids"])[1]`)),
				click(chromedp.Search(`(//table[contains(@class,"records")]//input[@name="ids"])[2]`)),
				visible(`//span[@id="selected-count" and normalize-space()="2 records selected"]`),
				click(button("Delete selected…")),
				chromedp.WaitVisible(heading("Delete 2 selected records from “Northwind Help Center”?")),
				click(button("Delete 2 records")),
				visible(`//p[contains(@class,"flash") and contains(., "Deleted 2 records.")]`),
				visible(`//p[contains(., "18 records in this dataset.")]`))
			step("select every record on the page with one box",
				click(chromedp.Search(`//input[@id="select-all"]`)),
				visible(`//span[@id="selected-count" and normalize-space()="18 records selected"]`))
		})
	}
}
