// Package telegram is everything Parley needs to talk to the Telegram Bot
// API (https://core.telegram.org/bots/api): a client for the few methods a
// chatbot calls, the types of a webhook's updates and how to classify them,
// the webhook's secret check, and the conversion of a bot's Markdown answer
// into Telegram's HTML, split into messages Telegram accepts.
//
// It knows nothing of Parley's store or engine: the channel pipeline maps
// a ConversationKey to a conversation and delivers answers through Client
// from its durable queue, which is why the client never retries by itself.
package telegram
