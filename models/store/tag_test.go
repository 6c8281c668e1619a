package store_test

import (
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestTagManage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Shop", Model: "local"}})
		other := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Other", Model: "local"}})
		conv := mustConversation(t, s, models.Conversation{BotID: &bot.ID},
			models.Message{Type: models.MessageUser, Text: "one"}, models.Message{Type: models.MessageBot, Text: "two"})
		otherConv := mustConversation(t, s, models.Conversation{BotID: &other.ID}, models.Message{Type: models.MessageUser, Text: "x"})
		msgs, _, err := s.FindMessages(ctx, conv.ID, models.Page{Order: models.OrderAsc})
		if err != nil {
			t.Fatal(err)
		}
		tag, err := s.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: "wrong answer", Color: "red"})
		if err != nil {
			t.Fatal(err)
		}
		keep, err := s.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: "Refund", Color: "blue"})
		if err != nil {
			t.Fatal(err)
		}
		otherTag, err := s.CreateTag(ctx, models.Tag{BotID: other.ID, Name: "elsewhere", Color: "gray"})
		if err != nil {
			t.Fatal(err)
		}
		who := models.Reviewer{Name: "Support"}
		for _, m := range msgs {
			if err := s.TagMessage(ctx, conv.ID, m.ID, tag.ID, who); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.TagMessage(ctx, conv.ID, msgs[0].ID, keep.ID, who); err != nil {
			t.Fatal(err)
		}

		t.Run("ErrDuplicateNameOnCreateAnyCase", func(t *testing.T) {
			_, err := s.CreateTag(ctx, models.Tag{BotID: bot.ID, Name: " refund ", Color: "red"})
			wantFieldErrors(t, err, "name")
			if _, err := s.CreateTag(ctx, models.Tag{BotID: other.ID, Name: "Refund", Color: "red"}); err != nil {
				t.Errorf("the same name on another bot: %v", err)
			}
		})
		t.Run("Rename", func(t *testing.T) {
			got, err := s.UpdateTag(ctx, conv.ID, tag.ID, "  Wrong answer  ", "purple")
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Wrong answer" || got.Color != "purple" {
				t.Errorf("UpdateTag = %+v", got)
			}
			tm, err := s.FindMessageTags(ctx, conv.ID, []string{msgs[0].ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(tm[msgs[0].ID]) != 2 || tm[msgs[0].ID][0].Tag.Name != "Wrong answer" {
				t.Errorf("the message's tags after the rename = %+v", tm[msgs[0].ID])
			}
		})
		t.Run("ErrRenameToAnotherTagsName", func(t *testing.T) {
			_, err := s.UpdateTag(ctx, conv.ID, tag.ID, "REFUND", "red")
			wantFieldErrors(t, err, "name")
			if got, _ := s.FindTag(ctx, tag.ID); got.Name != "Wrong answer" {
				t.Errorf("name after a refused rename = %q", got.Name)
			}
		})
		t.Run("RenameOnlyCase", func(t *testing.T) {
			if _, err := s.UpdateTag(ctx, conv.ID, tag.ID, "wrong answer", "red"); err != nil {
				t.Errorf("renaming a tag to its own name in another case: %v", err)
			}
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			_, err := s.UpdateTag(ctx, conv.ID, tag.ID, " ", "pink")
			wantFieldErrors(t, err, "name", "color")
		})
		t.Run("ErrTagOfAnotherBot", func(t *testing.T) {
			_, err := s.UpdateTag(ctx, conv.ID, otherTag.ID, "mine now", "red")
			wantCode(t, err, models.CodeNotFound)
			_, _, err = s.DeleteTag(ctx, otherConv.ID, tag.ID)
			wantCode(t, err, models.CodeNotFound)
			_, _, err = s.CountTagMessages(ctx, conv.ID, "nope")
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("Delete", func(t *testing.T) {
			_, n, err := s.CountTagMessages(ctx, conv.ID, tag.ID)
			if err != nil || n != 2 {
				t.Fatalf("CountTagMessages = %d, %v; want 2", n, err)
			}
			got, n, err := s.DeleteTag(ctx, conv.ID, tag.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 || got.Name != "wrong answer" {
				t.Errorf("DeleteTag = %+v, %d; want wrong answer off 2 messages", got, n)
			}
			if c := count(t, s, "message_tags", "tag_id = ?", tag.ID); c != 0 {
				t.Errorf("%d messages still carry the deleted tag", c)
			}
			if c := count(t, s, "message_tags", "tag_id = ?", keep.ID); c != 1 {
				t.Errorf("%d messages carry the other tag, want 1", c)
			}
			_, err = s.FindTag(ctx, tag.ID)
			wantCode(t, err, models.CodeNotFound)
			tags, _ := s.FindTags(ctx, bot.ID)
			if len(tags) != 1 || tags[0].ID != keep.ID {
				t.Errorf("tags after the delete = %+v", tags)
			}
		})
	})
}
