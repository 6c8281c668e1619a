package models

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnippet(t *testing.T) {
	long := strings.Repeat("padding words here ", 30)
	cases := []struct {
		name  string
		text  string
		terms []string
		want  []SnippetPart
	}{
		{"Highlight", "I want a Refund now", []string{"refunds"}, []SnippetPart{{"I want a ", false}, {"Refund", true}, {" now", false}}},
		{"Several", "refund my order, refunded", []string{"refund", "order"}, []SnippetPart{{"refund", true}, {" my ", false}, {"order", true}, {", ", false}, {"refunded", true}}},
		{"HTMLKeptAsText", "<b>refund</b>", []string{"refund"}, []SnippetPart{{"<b>", false}, {"refund", true}, {"</b>", false}}},
		{"NoHit", "nothing here", []string{"refund"}, []SnippetPart{{"nothing here", false}}},
		{"WindowAroundHit", long + "the refund" + long, []string{"refund"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Snippet(tc.text, tc.terms)
			if tc.want == nil {
				var b strings.Builder
				hits := 0
				for _, p := range got {
					b.WriteString(p.Text)
					if p.Hit {
						hits++
					}
				}
				s := b.String()
				if hits != 1 || !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || len([]rune(s)) > 210 {
					t.Errorf("window = %q (%d hits)", s, hits)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Snippet (-want +got):\n%s", diff)
			}
		})
	}
}
