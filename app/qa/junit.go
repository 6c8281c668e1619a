package qa

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"parley/models"
	"parley/models/store"
)

// Results reads every result of a run, in order (at most MaxSuiteItems).
func Results(ctx context.Context, st *store.Store, runID string) ([]models.TestResult, error) {
	var out []models.TestResult
	after := 0
	for len(out) < models.MaxSuiteItems {
		rs, next, err := st.FindResults(ctx, runID, after, models.MaxPageSize)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if next == 0 {
			break
		}
		after = next
	}
	return out, nil
}

// JUnit XML as common CI systems read it (Jenkins, GitLab, GitHub Actions'
// test reporters): one testsuite per run, one testcase per case or check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr,omitempty"`
	Props     []junitProperty `xml:"properties>property"`
	Cases     []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }

// WriteJUnit writes a run's results as JUnit XML: a failing case is a
// failure whose message is its first failing assertion's (every failing
// assertion is listed in its text); a case that could not run is an error.
func WriteJUnit(w io.Writer, suite *models.TestSuite, run *models.TestRun, results []models.TestResult) error {
	js := junitSuite{Name: suite.Name, Props: []junitProperty{{"run", run.ID}, {"target", run.TargetLabel()}, {"bot", run.BotID}}}
	if run.StartedAt != nil {
		js.Timestamp = run.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	var total int64
	class := "parley." + strings.Join(strings.Fields(suite.Name), "_")
	for _, r := range results {
		total += r.DurationMs
		c := junitCase{Name: r.Name, ClassName: class, Time: seconds(r.DurationMs)}
		var lines []string
		for _, a := range r.Assertions {
			mark := "ok  "
			if !a.Pass {
				mark = "FAIL"
			}
			where := ""
			if a.Turn > 0 {
				where = fmt.Sprintf("turn %d: ", a.Turn)
			}
			lines = append(lines, fmt.Sprintf("%s %s%s: %s", mark, where, a.Label, a.Message))
			if a.Rationale != "" {
				lines = append(lines, "     judge: "+a.Rationale)
			}
		}
		if r.ConversationID != nil {
			lines = append(lines, "timeline: /conversations/"+*r.ConversationID)
		}
		detail := strings.Join(lines, "\n")
		switch r.Status {
		case models.ResultFail:
			js.Failures++
			c.Failure = &junitProblem{Message: r.Message, Type: "assertion", Text: detail}
		case models.ResultError:
			js.Errors++
			c.Error = &junitProblem{Message: r.Message, Type: "error", Text: detail}
		case models.ResultSkipped, models.ResultPending:
			js.Skipped++
			c.Skipped = &junitProblem{Message: r.Message}
		default:
			c.SystemOut = detail
		}
		js.Tests++
		js.Cases = append(js.Cases, c)
	}
	js.Time = seconds(total)
	doc := junitSuites{Name: "parley", Tests: js.Tests, Failures: js.Failures, Errors: js.Errors, Time: js.Time, Suites: []junitSuite{js}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
