package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/app/qa"
	"parley/models"
	"parley/models/store/storetest"
)

// junitDoc is the part of JUnit XML a CI system reads.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d junitDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, b)
	}
	return d
}

// TestTestCommands drives `parley test` as CI would: a passing suite exits
// 0 with JSON and JUnit; export writes YAML that import reads back; a
// failing case makes the run exit non-zero with the assertion's message in
// the JUnit failure.
func TestTestCommands(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			dbURL := storetest.URL(t, d)
			if _, err := runCmd(t, dbURL, "", nil, "seed"); err != nil {
				t.Fatal(err)
			}
			st := openStore(t, dbURL)
			bots, _, _ := st.FindBots(ctx, models.BotFilter{})
			convs, _, _ := st.FindConversations(ctx, models.ConversationFilter{})
			suite, err := st.CreateSuite(ctx, models.TestSuite{BotID: bots[0].ID, Name: "Refunds"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := qa.Propose(ctx, st, convs[0].ID, "")
			if err != nil {
				t.Fatal(err)
			}
			tc := p.Case()
			tc.SuiteID = suite.ID
			if _, err := st.CreateCase(ctx, tc); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			junit := filepath.Join(dir, "junit.xml")

			out, err := runCmd(t, dbURL, "", nil, "test", "run", "--suite", "Refunds", "--junit", junit, "--json")
			if err != nil {
				t.Fatalf("test run: %v\n%s", err, out)
			}
			var run struct {
				Status  string `json:"status"`
				Passed  int    `json:"passed"`
				Results []struct {
					Status     string `json:"status"`
					Assertions []any  `json:"assertions"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(out), &run); err != nil {
				t.Fatalf("--json output: %v\n%s", err, out)
			}
			if run.Status != models.RunPassed || run.Passed != 1 || len(run.Results) != 1 || len(run.Results[0].Assertions) == 0 {
				t.Errorf("run = %+v", run)
			}
			if j := readJUnit(t, junit); j.Tests != 1 || j.Failures != 0 {
				t.Errorf("JUnit of a passing run = %+v", j)
			}

			yaml, err := runCmd(t, dbURL, "", nil, "test", "export", "--suite", suite.ID)
			if err != nil || !strings.Contains(yaml, "suite: Refunds") || !strings.Contains(yaml, "kind: cites") {
				t.Fatalf("export: %v\n%s", err, yaml)
			}
			file := filepath.Join(dir, "suite.yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(yaml, "suite: Refunds", "suite: Refunds in git", 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err = runCmd(t, dbURL, "", nil, "test", "import", file)
			if err != nil || !strings.Contains(out, `suite "Refunds in git" created`) || !strings.Contains(out, "1 case(s) created") {
				t.Fatalf("import: %v\n%s", err, out)
			}

			if _, err := st.CreateCase(ctx, models.TestCase{SuiteID: suite.ID, Name: "Says goodbye", Turns: []models.CaseTurn{{User: "Hello!",
				Expect: []models.Assertion{{Kind: models.AssertContains, Text: "Goodbye"}}}}}); err != nil {
				t.Fatal(err)
			}
			out, err = runCmd(t, dbURL, "", nil, "test", "run", "--suite", "Refunds", "--version", "1", "--junit", junit)
			var failed errTestsFailed
			if !errors.As(err, &failed) || !strings.Contains(err.Error(), "1 of 2 failed") {
				t.Fatalf("a failing run: err %v, want it to fail the command\n%s", err, out)
			}
			if !strings.Contains(out, `FAIL  Says goodbye: turn 1: text contains "Goodbye"`) || !strings.Contains(out, "against version 1") {
				t.Errorf("output:\n%s", out)
			}
			j := readJUnit(t, junit)
			if j.Tests != 2 || j.Failures != 1 {
				t.Fatalf("JUnit = %+v", j)
			}
			for _, c := range j.Suites[0].Cases {
				if c.Name == "Says goodbye" && (c.Failure == nil || !strings.Contains(c.Failure.Message, `text contains "Goodbye"`)) {
					t.Errorf("failing testcase = %+v", c)
				}
			}
			if _, err := runCmd(t, dbURL, "", nil, "test", "run", "--suite", "No such suite"); err == nil || !strings.Contains(err.Error(), "no test suite") {
				t.Errorf("unknown suite: %v", err)
			}
		})
	}
}
