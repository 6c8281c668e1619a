package models

import (
	"slices"
	"testing"
)

func TestGroupQuestions(t *testing.T) {
	qs := []UnansweredQuestion{
		{"c1", "Where is my parcel?"},
		{"c2", "where is the parcel"},
		{"c3", "Do you ship to Mars?"},
		{"c1", "Where's my parcel??"},
		{"c4", "Can I ship to Mars please"},
		{"c5", "Is there a student discount?"},
	}
	got := GroupQuestions(qs, 2)
	if len(got) != 2 || got[0].Example != "Where is my parcel?" || got[0].Count != 3 || !slices.Equal(got[0].ConversationIDs, []string{"c1", "c2"}) ||
		got[1].Count != 2 || !slices.Equal(got[1].ConversationIDs, []string{"c3", "c4"}) {
		t.Errorf("groups = %+v", got)
	}
}

func TestQuestionTokens(t *testing.T) {
	if got := QuestionTokens("How do I reset my Passwords, please?"); !slices.Equal(got, []string{"password", "reset"}) {
		t.Errorf("tokens = %v", got)
	}
}
