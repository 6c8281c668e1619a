package telegram

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Update is one webhook body (https://core.telegram.org/bots/api#update):
// exactly one of its fields besides UpdateID is set. Kinds Parley never acts
// on are kept as raw JSON, enough for Classify to name them.
type Update struct {
	// UpdateID increases with each update; a webhook may deliver one twice,
	// so it is the key that makes handling idempotent.
	UpdateID int64 `json:"update_id"`

	Message               *Message           `json:"message,omitempty"`
	EditedMessage         *Message           `json:"edited_message,omitempty"`
	ChannelPost           *Message           `json:"channel_post,omitempty"`
	EditedChannelPost     *Message           `json:"edited_channel_post,omitempty"`
	BusinessMessage       *Message           `json:"business_message,omitempty"`
	EditedBusinessMessage *Message           `json:"edited_business_message,omitempty"`
	MyChatMember          *ChatMemberUpdated `json:"my_chat_member,omitempty"`
	ChatMember            *ChatMemberUpdated `json:"chat_member,omitempty"`
	CallbackQuery         *CallbackQuery     `json:"callback_query,omitempty"`

	InlineQuery        json.RawMessage `json:"inline_query,omitempty"`
	ChosenInlineResult json.RawMessage `json:"chosen_inline_result,omitempty"`
	ChatJoinRequest    json.RawMessage `json:"chat_join_request,omitempty"`
	MessageReaction    json.RawMessage `json:"message_reaction,omitempty"`
	Poll               json.RawMessage `json:"poll,omitempty"`
	PollAnswer         json.RawMessage `json:"poll_answer,omitempty"`
}

// User is a Telegram user or bot.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`

	// Set for the bot itself only (getMe).
	CanJoinGroups           bool `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   bool `json:"supports_inline_queries,omitempty"`
}

// Name is the user's full name, for a conversation's title.
func (u User) Name() string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// Chat types.
const (
	ChatPrivate    = "private"
	ChatGroup      = "group"
	ChatSupergroup = "supergroup"
	ChatChannel    = "channel"
)

// Chat is where a message was sent.
type Chat struct {
	// ID is positive for private chats (the user's id), negative for
	// groups, and -100… for supergroups and channels.
	ID int64 `json:"id"`
	// Type is ChatPrivate, ChatGroup, ChatSupergroup or ChatChannel.
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// IsForum is set on supergroups organised in topics.
	IsForum bool `json:"is_forum,omitempty"`
}

// Message is a message (https://core.telegram.org/bots/api#message), with
// the fields Parley reads and enough of the others to recognise a message
// that is not text.
type Message struct {
	MessageID int `json:"message_id"`
	// MessageThreadID is the forum topic (when IsTopicMessage) or the
	// thread of replies a message belongs to.
	MessageThreadID int  `json:"message_thread_id,omitempty"`
	IsTopicMessage  bool `json:"is_topic_message,omitempty"`
	// From is the sender; empty in channels.
	From *User `json:"from,omitempty"`
	// SenderChat is set when a chat, not a user, sent the message: an
	// anonymous group admin, or a channel.
	SenderChat *Chat `json:"sender_chat,omitempty"`
	Chat       Chat  `json:"chat"`
	// Date is when the message was sent, in Unix seconds.
	Date               int64    `json:"date"`
	EditDate           int64    `json:"edit_date,omitempty"`
	ReplyToMessage     *Message `json:"reply_to_message,omitempty"`
	ViaBot             *User    `json:"via_bot,omitempty"`
	IsAutomaticForward bool     `json:"is_automatic_forward,omitempty"`

	Text     string          `json:"text,omitempty"`
	Entities []MessageEntity `json:"entities,omitempty"`
	Caption  string          `json:"caption,omitempty"`

	Photo     []PhotoSize     `json:"photo,omitempty"`
	Sticker   *Sticker        `json:"sticker,omitempty"`
	Animation *File           `json:"animation,omitempty"`
	Audio     *File           `json:"audio,omitempty"`
	Document  *File           `json:"document,omitempty"`
	Video     *File           `json:"video,omitempty"`
	VideoNote *File           `json:"video_note,omitempty"`
	Voice     *File           `json:"voice,omitempty"`
	Contact   json.RawMessage `json:"contact,omitempty"`
	Dice      json.RawMessage `json:"dice,omitempty"`
	Game      json.RawMessage `json:"game,omitempty"`
	Poll      json.RawMessage `json:"poll,omitempty"`
	Venue     json.RawMessage `json:"venue,omitempty"`
	Location  json.RawMessage `json:"location,omitempty"`
	Story     json.RawMessage `json:"story,omitempty"`

	// Service messages.
	NewChatMembers    []User          `json:"new_chat_members,omitempty"`
	LeftChatMember    *User           `json:"left_chat_member,omitempty"`
	NewChatTitle      string          `json:"new_chat_title,omitempty"`
	PinnedMessage     json.RawMessage `json:"pinned_message,omitempty"`
	GroupChatCreated  bool            `json:"group_chat_created,omitempty"`
	MigrateToChatID   int64           `json:"migrate_to_chat_id,omitempty"`
	MigrateFromChatID int64           `json:"migrate_from_chat_id,omitempty"`
	ForumTopicCreated json.RawMessage `json:"forum_topic_created,omitempty"`
	ForumTopicEdited  json.RawMessage `json:"forum_topic_edited,omitempty"`
	ForumTopicClosed  json.RawMessage `json:"forum_topic_closed,omitempty"`
}

// Time is Date as a time.
func (m *Message) Time() time.Time { return unixTime(m.Date) }

// ThreadID is the topic to answer in: the message's thread in a forum topic
// (or a private chat's topic), 0 otherwise. A reply thread of an ordinary
// group is not a topic, and the General topic has no thread id: sending
// there with one fails.
func (m *Message) ThreadID() int {
	if m.IsTopicMessage {
		return m.MessageThreadID
	}
	return 0
}

// MessageEntity marks a special part of a message's text: a bot_command,
// a mention, a URL… Offset and Length count UTF-16 code units.
type MessageEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	URL    string `json:"url,omitempty"`
	User   *User  `json:"user,omitempty"`
}

// PhotoSize is one size of a photo.
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Sticker is a sticker.
type Sticker struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Emoji        string `json:"emoji,omitempty"`
	SetName      string `json:"set_name,omitempty"`
}

// File is the common part of an animation, audio, document, video, video
// note or voice message.
type File struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
	Duration     int    `json:"duration,omitempty"`
}

// ChatMemberUpdated says a member's status changed: for my_chat_member, the
// bot's own (added to a group, blocked by a user…).
type ChatMemberUpdated struct {
	Chat          Chat       `json:"chat"`
	From          User       `json:"from"`
	Date          int64      `json:"date"`
	OldChatMember ChatMember `json:"old_chat_member"`
	NewChatMember ChatMember `json:"new_chat_member"`
}

// ChatMember is a member's status in a chat: "creator", "administrator",
// "member", "restricted", "left" or "kicked".
type ChatMember struct {
	Status string `json:"status"`
	User   User   `json:"user"`
}

// CallbackQuery is a press on an inline keyboard's button.
type CallbackQuery struct {
	ID      string   `json:"id"`
	From    User     `json:"from"`
	Message *Message `json:"message,omitempty"`
	Data    string   `json:"data,omitempty"`
}

// Kinds of update, as Classify names them.
const (
	// KindText is a text message to answer.
	KindText = "text"
	// KindCommand is a text message starting with a command (/start,
	// /new…): see ParseCommand.
	KindCommand = "command"
	// KindIgnored is everything else; Classify says why.
	KindIgnored = "ignored"
)

// Classify says what the pipeline does with an update: answer a KindText
// message, run a KindCommand, or ignore it (KindIgnored) for the reason
// given ("photo", "sticker", "edited message", "member change", "callback
// query", "no text", "from a bot"…), which the operator sees. A command
// addressed to any bot ("/start@SomeBot") counts: see ClassifyFor.
func Classify(u Update) (kind, ignoredReason string) {
	return ClassifyFor(u, "")
}

// ClassifyFor is Classify for the bot whose username is given: in a group,
// a command addressed to another bot ("/start@OtherBot") is ignored.
func ClassifyFor(u Update, botUsername string) (kind, ignoredReason string) {
	ignore := func(reason string) (string, string) { return KindIgnored, reason }
	m := u.Message
	switch {
	case m != nil:
	case u.EditedMessage != nil, u.EditedChannelPost != nil, u.EditedBusinessMessage != nil:
		return ignore("edited message")
	case u.ChannelPost != nil:
		return ignore("channel post")
	case u.BusinessMessage != nil:
		return ignore("business message")
	case u.MyChatMember != nil, u.ChatMember != nil, len(u.ChatJoinRequest) > 0:
		return ignore("member change")
	case u.CallbackQuery != nil:
		return ignore("callback query")
	case len(u.InlineQuery) > 0, len(u.ChosenInlineResult) > 0:
		return ignore("inline query")
	case len(u.MessageReaction) > 0:
		return ignore("reaction")
	case len(u.Poll) > 0, len(u.PollAnswer) > 0:
		return ignore("poll")
	default:
		return ignore("unsupported update")
	}

	switch {
	case m.From != nil && m.From.IsBot && m.SenderChat == nil:
		// An anonymous admin's messages come from a bot account
		// (@GroupAnonymousBot) with SenderChat set: those are people.
		return ignore("from a bot")
	case m.IsAutomaticForward:
		return ignore("channel post")
	case len(m.NewChatMembers) > 0, m.LeftChatMember != nil:
		return ignore("member change")
	case m.NewChatTitle != "", len(m.PinnedMessage) > 0, m.GroupChatCreated, m.MigrateToChatID != 0,
		m.MigrateFromChatID != 0, len(m.ForumTopicCreated) > 0, len(m.ForumTopicEdited) > 0, len(m.ForumTopicClosed) > 0:
		return ignore("service message")
	case len(m.Photo) > 0:
		return ignore("photo")
	case m.Sticker != nil:
		return ignore("sticker")
	case m.Animation != nil: // also sets Document
		return ignore("animation")
	case m.Document != nil:
		return ignore("document")
	case m.Video != nil:
		return ignore("video")
	case m.VideoNote != nil:
		return ignore("video note")
	case m.Voice != nil:
		return ignore("voice message")
	case m.Audio != nil:
		return ignore("audio")
	case len(m.Venue) > 0: // also sets Location
		return ignore("venue")
	case len(m.Location) > 0:
		return ignore("location")
	case len(m.Contact) > 0:
		return ignore("contact")
	case len(m.Poll) > 0:
		return ignore("poll")
	case len(m.Dice) > 0:
		return ignore("dice")
	case len(m.Game) > 0:
		return ignore("game")
	case len(m.Story) > 0:
		return ignore("story")
	case strings.TrimSpace(m.Text) == "":
		return ignore("no text")
	}
	if cmd, ok := ParseCommand(m.Text); ok {
		if botUsername != "" && cmd.Bot != "" && !strings.EqualFold(cmd.Bot, strings.TrimPrefix(botUsername, "@")) {
			return ignore("command for another bot")
		}
		return KindCommand, ""
	}
	return KindText, ""
}

// Command is a bot command at the start of a message: "/start@MyBot abc"
// is Name "start", Bot "MyBot", Args "abc".
type Command struct {
	// Name is the command without its slash, in lower case.
	Name string
	// Bot is the username after "@", empty when the command names none.
	Bot string
	// Args is the rest of the text, trimmed (a deep link's payload for
	// /start).
	Args string
}

// ParseCommand reads the command a text starts with: "/" then 1–32
// letters, digits or underscores, optionally "@" and a bot's username, then
// a space or the end. "/usr/bin" or "/ hi" are not commands.
func ParseCommand(text string) (Command, bool) {
	text = strings.TrimLeft(text, " \t")
	if !strings.HasPrefix(text, "/") {
		return Command{}, false
	}
	head, args := text[1:], ""
	if i := strings.IndexFunc(head, unicode.IsSpace); i >= 0 {
		head, args = head[:i], head[i:]
	}
	name, bot, hasBot := strings.Cut(head, "@")
	if !commandWord(name, 32) || (hasBot && !commandWord(bot, 64)) {
		return Command{}, false
	}
	return Command{Name: strings.ToLower(name), Bot: bot, Args: strings.TrimSpace(args)}, true
}

func commandWord(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// ConversationKey is the conversation a message belongs to, as an external
// id: the chat id, plus the topic in a forum ("-100123:45"), so that each
// topic is its own conversation. ParseConversationKey reads it back for
// sending.
func ConversationKey(m *Message) string {
	key := strconv.FormatInt(m.Chat.ID, 10)
	if t := m.ThreadID(); t != 0 {
		key += ":" + strconv.Itoa(t)
	}
	return key
}

// ParseConversationKey splits a ConversationKey into the chat and the topic
// (0: none) to send to.
func ParseConversationKey(key string) (chatID int64, threadID int, err error) {
	chat, thread, hasThread := strings.Cut(key, ":")
	chatID, err = strconv.ParseInt(chat, 10, 64)
	if err != nil || chatID == 0 {
		return 0, 0, errors.New("telegram: " + strconv.Quote(key) + " is not a conversation key (chat id or chat id:topic)")
	}
	if hasThread {
		threadID, err = strconv.Atoi(thread)
		if err != nil || threadID <= 0 {
			return 0, 0, errors.New("telegram: " + strconv.Quote(key) + " is not a conversation key (chat id or chat id:topic)")
		}
	}
	return chatID, threadID, nil
}

func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}
