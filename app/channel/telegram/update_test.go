package telegram_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/app/channel/telegram"
)

// decode reads a webhook body as the pipeline will.
func decode(t *testing.T, body string) telegram.Update {
	t.Helper()
	var u telegram.Update
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return u
}

const (
	privateChat = `"chat":{"id":5000001,"first_name":"Ada","username":"ada","type":"private"}`
	groupChat   = `"chat":{"id":-4012345678,"title":"Team","type":"group"}`
	forumChat   = `"chat":{"id":-1001234567890,"title":"Support","is_forum":true,"type":"supergroup"}`
	ada         = `"from":{"id":5000001,"is_bot":false,"first_name":"Ada","last_name":"Lovelace","username":"ada","language_code":"en"}`
)

func TestDecodeUpdate(t *testing.T) {
	u := decode(t, `{"update_id":912345678,"message":{"message_id":77,"message_thread_id":45,"is_topic_message":true,`+ada+`,`+forumChat+`,"date":1735689600,"text":"/start@ParleyBot hello","entities":[{"offset":0,"length":16,"type":"bot_command"}]}}`)
	want := telegram.Update{UpdateID: 912345678, Message: &telegram.Message{
		MessageID: 77, MessageThreadID: 45, IsTopicMessage: true,
		From: &telegram.User{ID: 5000001, FirstName: "Ada", LastName: "Lovelace", Username: "ada", LanguageCode: "en"},
		Chat: telegram.Chat{ID: -1001234567890, Type: telegram.ChatSupergroup, Title: "Support", IsForum: true},
		Date: 1735689600, Text: "/start@ParleyBot hello",
		Entities: []telegram.MessageEntity{{Type: "bot_command", Offset: 0, Length: 16}},
	}}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	if got := u.Message.From.Name(); got != "Ada Lovelace" {
		t.Errorf("Name() = %q", got)
	}
	if got := u.Message.Time().Unix(); got != 1735689600 {
		t.Errorf("Time() = %d", got)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		bot        string // ClassifyFor's username; "" uses Classify
		wantKind   string
		wantReason string
	}{
		{"PrivateText", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"text":"Hello there"}}`, "", "text", ""},
		{"GroupText", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"text":"@ParleyBot what time is it?"}}`, "", "text", ""},
		{"TopicText", `{"update_id":1,"message":{"message_id":1,"message_thread_id":45,"is_topic_message":true,` + ada + `,` + forumChat + `,"date":1,"text":"hi"}}`, "", "text", ""},
		{"Command", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"text":"/start"}}`, "", "command", ""},
		{"CommandArgs", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"text":"/new about refunds"}}`, "", "command", ""},
		{"CommandForUs", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"text":"/help@ParleyBot"}}`, "ParleyBot", "command", ""},
		{"CommandForUsCaseAt", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"text":"/help@parleybot"}}`, "@ParleyBot", "command", ""},
		{"CommandAnyBot", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"text":"/help@OtherBot"}}`, "", "command", ""},
		{"CommandForOtherBot", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"text":"/help@OtherBot"}}`, "ParleyBot", "ignored", "command for another bot"},
		{"PathIsText", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"text":"/usr/bin is where?"}}`, "", "text", ""},
		{"SlashAloneIsText", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"text":"/ hi"}}`, "", "text", ""},
		{"Photo", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"photo":[{"file_id":"a","file_unique_id":"b","width":90,"height":90}],"caption":"look"}}`, "", "ignored", "photo"},
		{"Sticker", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"sticker":{"file_id":"a","file_unique_id":"b","emoji":"👍","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false}}}`, "", "ignored", "sticker"},
		{"Voice", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"voice":{"file_id":"a","file_unique_id":"b","duration":3}}}`, "", "ignored", "voice message"},
		{"Animation", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"animation":{"file_id":"a","file_unique_id":"b"},"document":{"file_id":"a","file_unique_id":"b"}}}`, "", "ignored", "animation"},
		{"Document", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"document":{"file_id":"a","file_unique_id":"b","file_name":"a.pdf"}}}`, "", "ignored", "document"},
		{"Venue", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"location":{"latitude":1,"longitude":2},"venue":{"location":{"latitude":1,"longitude":2},"title":"x","address":"y"}}}`, "", "ignored", "venue"},
		{"Location", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"location":{"latitude":1,"longitude":2}}}`, "", "ignored", "location"},
		{"EmptyText", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"text":"  "}}`, "", "ignored", "no text"},
		{"NoText", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1}}`, "", "ignored", "no text"},
		{"FromBot", `{"update_id":1,"message":{"message_id":1,"from":{"id":42,"is_bot":true,"first_name":"Other"},` + groupChat + `,"date":1,"text":"beep"}}`, "", "ignored", "from a bot"},
		{"AnonymousAdmin", `{"update_id":1,"message":{"message_id":1,"from":{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"},"sender_chat":{"id":-1001234567890,"title":"Support","type":"supergroup"},` + forumChat + `,"date":1,"text":"hello"}}`, "", "text", ""},
		{"AutomaticForward", `{"update_id":1,"message":{"message_id":1,"from":{"id":777000,"is_bot":false,"first_name":"Telegram"},"is_automatic_forward":true,` + forumChat + `,"date":1,"text":"news"}}`, "", "ignored", "channel post"},
		{"MemberJoined", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"new_chat_members":[{"id":5,"is_bot":false,"first_name":"Bob"}]}}`, "", "ignored", "member change"},
		{"MemberLeft", `{"update_id":1,"message":{"message_id":1,` + ada + `,` + groupChat + `,"date":1,"left_chat_member":{"id":5,"is_bot":false,"first_name":"Bob"}}}`, "", "ignored", "member change"},
		{"TopicCreated", `{"update_id":1,"message":{"message_id":1,"message_thread_id":1,"is_topic_message":true,` + ada + `,` + forumChat + `,"date":1,"forum_topic_created":{"name":"Billing","icon_color":7322096}}}`, "", "ignored", "service message"},
		{"Edited", `{"update_id":1,"edited_message":{"message_id":1,` + ada + `,` + privateChat + `,"date":1,"edit_date":2,"text":"Hello again"}}`, "", "ignored", "edited message"},
		{"ChannelPost", `{"update_id":1,"channel_post":{"message_id":1,"chat":{"id":-1009876543210,"title":"News","type":"channel"},"date":1,"text":"x"}}`, "", "ignored", "channel post"},
		{"MyChatMember", `{"update_id":1,"my_chat_member":{` + groupChat + `,` + ada + `,"date":1,"old_chat_member":{"status":"left","user":{"id":7,"is_bot":true,"first_name":"Parley"}},"new_chat_member":{"status":"member","user":{"id":7,"is_bot":true,"first_name":"Parley"}}}}`, "", "ignored", "member change"},
		{"BlockedByUser", `{"update_id":1,"my_chat_member":{` + privateChat + `,` + ada + `,"date":1,"old_chat_member":{"status":"member","user":{"id":7,"is_bot":true,"first_name":"Parley"}},"new_chat_member":{"status":"kicked","user":{"id":7,"is_bot":true,"first_name":"Parley"},"until_date":0}}}`, "", "ignored", "member change"},
		{"CallbackQuery", `{"update_id":1,"callback_query":{"id":"4382","from":{"id":5000001,"is_bot":false,"first_name":"Ada"},"chat_instance":"-1","data":"yes"}}`, "", "ignored", "callback query"},
		{"InlineQuery", `{"update_id":1,"inline_query":{"id":"1","from":{"id":5000001,"is_bot":false,"first_name":"Ada"},"query":"x","offset":""}}`, "", "ignored", "inline query"},
		{"Reaction", `{"update_id":1,"message_reaction":{` + privateChat + `,"message_id":3,"date":1,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}`, "", "ignored", "reaction"},
		{"Unknown", `{"update_id":1,"purchased_paid_media":{"from":{"id":1,"is_bot":false,"first_name":"A"},"paid_media_payload":"x"}}`, "", "ignored", "unsupported update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := decode(t, tt.body)
			kind, reason := telegram.Classify(u)
			if tt.bot != "" {
				kind, reason = telegram.ClassifyFor(u, tt.bot)
			}
			if kind != tt.wantKind || reason != tt.wantReason {
				t.Errorf("got (%q, %q), want (%q, %q)", kind, reason, tt.wantKind, tt.wantReason)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text   string
		want   telegram.Command
		wantOK bool
	}{
		{"/start", telegram.Command{Name: "start"}, true},
		{"/START", telegram.Command{Name: "start"}, true},
		{"/start@ParleyBot", telegram.Command{Name: "start", Bot: "ParleyBot"}, true},
		{"/start ref_42", telegram.Command{Name: "start", Args: "ref_42"}, true},
		{"/new@ParleyBot  about   refunds ", telegram.Command{Name: "new", Bot: "ParleyBot", Args: "about   refunds"}, true},
		{"/help\nplease", telegram.Command{Name: "help", Args: "please"}, true},
		{"  /help", telegram.Command{Name: "help"}, true},
		{"/", telegram.Command{}, false},
		{"/ start", telegram.Command{}, false},
		{"/usr/bin", telegram.Command{}, false},
		{"/start@", telegram.Command{}, false},
		{"/naïve", telegram.Command{}, false},
		{"/abcdefghijklmnopqrstuvwxyz0123456", telegram.Command{}, false}, // 33 characters
		{"hello /start", telegram.Command{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, ok := telegram.ParseCommand(tt.text)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("ParseCommand(%q) = %+v, %v; want %+v, %v", tt.text, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestConversationKey(t *testing.T) {
	tests := []struct {
		name       string
		msg        telegram.Message
		want       string
		wantThread int
	}{
		{"Private", telegram.Message{Chat: telegram.Chat{ID: 5000001, Type: telegram.ChatPrivate}}, "5000001", 0},
		{"Group", telegram.Message{Chat: telegram.Chat{ID: -4012345678, Type: telegram.ChatGroup}}, "-4012345678", 0},
		{"Supergroup", telegram.Message{Chat: telegram.Chat{ID: -100123, Type: telegram.ChatSupergroup}}, "-100123", 0},
		{"ForumTopic", telegram.Message{MessageThreadID: 45, IsTopicMessage: true, Chat: telegram.Chat{ID: -100123, Type: telegram.ChatSupergroup, IsForum: true}}, "-100123:45", 45},
		// A reply thread in an ordinary supergroup is not a topic.
		{"ReplyThread", telegram.Message{MessageThreadID: 12, Chat: telegram.Chat{ID: -100123, Type: telegram.ChatSupergroup}}, "-100123", 0},
		// The General topic's messages carry no thread.
		{"GeneralTopic", telegram.Message{Chat: telegram.Chat{ID: -100123, Type: telegram.ChatSupergroup, IsForum: true}}, "-100123", 0},
		{"PrivateTopic", telegram.Message{MessageThreadID: 9, IsTopicMessage: true, Chat: telegram.Chat{ID: 5000001, Type: telegram.ChatPrivate}}, "5000001:9", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := telegram.ConversationKey(&tt.msg)
			if key != tt.want {
				t.Errorf("ConversationKey = %q, want %q", key, tt.want)
			}
			if got := tt.msg.ThreadID(); got != tt.wantThread {
				t.Errorf("ThreadID() = %d, want %d", got, tt.wantThread)
			}
			chat, thread, err := telegram.ParseConversationKey(key)
			if err != nil || chat != tt.msg.Chat.ID || thread != tt.wantThread {
				t.Errorf("ParseConversationKey(%q) = %d, %d, %v; want %d, %d", key, chat, thread, err, tt.msg.Chat.ID, tt.wantThread)
			}
		})
	}
}

func TestParseConversationKeyErrors(t *testing.T) {
	for _, key := range []string{"", "abc", "0", "-100123:", "-100123:x", "-100123:0", "-100123:-4", "1:2:3"} {
		t.Run(key, func(t *testing.T) {
			if _, _, err := telegram.ParseConversationKey(key); err == nil {
				t.Errorf("ParseConversationKey(%q): no error", key)
			}
		})
	}
}
