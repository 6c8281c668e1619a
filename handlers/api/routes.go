package api

import "github.com/gofiber/fiber/v2"

var listQuery = []string{"cursor", "order", "take"}

// table is every API route. The router, the OpenAPI document and the tests
// all read it, so they cannot disagree.
func (a *API) table() []Route {
	get, post := fiber.MethodGet, fiber.MethodPost
	return []Route{
		// Bots.
		{Method: get, Path: "/bot/list", OperationID: "listBots", Tag: "bot", Summary: "List bots", Query: listQuery, Stream: true,
			Response: list[botJSON]{}, handler: a.handleBotList},
		{Method: get, Path: "/bot/:botId/fetch", OperationID: "fetchBot", Tag: "bot", Summary: "Fetch a bot",
			Response: botJSON{}, handler: a.handleBotFetch},
		{Method: post, Path: "/bot/create", OperationID: "createBot", Tag: "bot", Summary: "Create a bot",
			Request: botRequest{}, Response: idResponse{}, handler: a.handleBotCreate},
		{Method: post, Path: "/bot/:botId/update", OperationID: "updateBot", Tag: "bot", Summary: "Update a bot (absent fields are kept)",
			Request: botRequest{}, Response: idResponse{}, handler: a.handleBotUpdate},
		{Method: post, Path: "/bot/:botId/delete", OperationID: "deleteBot", Tag: "bot", Summary: "Delete a bot (its conversations are kept)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleBotDelete},

		// Datasets and records.
		{Method: get, Path: "/dataset/list", OperationID: "listDatasets", Tag: "dataset", Summary: "List datasets", Query: listQuery, Stream: true,
			Response: list[datasetJSON]{}, handler: a.handleDatasetList},
		{Method: get, Path: "/dataset/:datasetId/fetch", OperationID: "fetchDataset", Tag: "dataset", Summary: "Fetch a dataset",
			Response: datasetJSON{}, handler: a.handleDatasetFetch},
		{Method: post, Path: "/dataset/create", OperationID: "createDataset", Tag: "dataset", Summary: "Create a dataset",
			Request: datasetRequest{}, Response: idResponse{}, handler: a.handleDatasetCreate},
		{Method: post, Path: "/dataset/:datasetId/update", OperationID: "updateDataset", Tag: "dataset", Summary: "Update a dataset (absent fields are kept)",
			Request: updateDatasetRequest{}, Response: idResponse{}, handler: a.handleDatasetUpdate},
		{Method: post, Path: "/dataset/:datasetId/delete", OperationID: "deleteDataset", Tag: "dataset", Summary: "Delete a dataset and its records (bots using it are detached)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleDatasetDelete},
		{Method: post, Path: "/dataset/:datasetId/search", OperationID: "searchDataset", Tag: "dataset", Summary: "Search a dataset's records as a bot turn would",
			Request: searchRequest{}, Response: searchResponse{}, handler: a.handleDatasetSearch},
		{Method: get, Path: "/dataset/:datasetId/record/list", OperationID: "listDatasetRecords", Tag: "dataset", Summary: "List a dataset's records", Query: listQuery, Stream: true,
			Response: list[recordJSON]{}, handler: a.handleRecordList},
		{Method: get, Path: "/dataset/:datasetId/record/:recordId/fetch", OperationID: "fetchDatasetRecord", Tag: "dataset", Summary: "Fetch a record",
			Response: recordJSON{}, handler: a.handleRecordFetch},
		{Method: post, Path: "/dataset/:datasetId/record/create", OperationID: "createDatasetRecord", Tag: "dataset", Summary: "Create a record (text required)",
			Request: recordRequest{}, Response: idResponse{}, handler: a.handleRecordCreate},
		{Method: post, Path: "/dataset/:datasetId/record/:recordId/update", OperationID: "updateDatasetRecord", Tag: "dataset", Summary: "Update a record",
			Request: recordRequest{}, Response: idResponse{}, handler: a.handleRecordUpdate},
		{Method: post, Path: "/dataset/:datasetId/record/:recordId/delete", OperationID: "deleteDatasetRecord", Tag: "dataset", Summary: "Delete a record",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleRecordDelete},

		// Skillsets and abilities.
		{Method: get, Path: "/skillset/list", OperationID: "listSkillsets", Tag: "skillset", Summary: "List skillsets", Query: listQuery, Stream: true,
			Response: list[skillsetJSON]{}, handler: a.handleSkillsetList},
		{Method: get, Path: "/skillset/:skillsetId/fetch", OperationID: "fetchSkillset", Tag: "skillset", Summary: "Fetch a skillset",
			Response: skillsetJSON{}, handler: a.handleSkillsetFetch},
		{Method: post, Path: "/skillset/create", OperationID: "createSkillset", Tag: "skillset", Summary: "Create a skillset",
			Request: skillsetRequest{}, Response: idResponse{}, handler: a.handleSkillsetCreate},
		{Method: post, Path: "/skillset/:skillsetId/update", OperationID: "updateSkillset", Tag: "skillset", Summary: "Update a skillset (absent fields are kept)",
			Request: skillsetRequest{}, Response: idResponse{}, handler: a.handleSkillsetUpdate},
		{Method: post, Path: "/skillset/:skillsetId/delete", OperationID: "deleteSkillset", Tag: "skillset", Summary: "Delete a skillset and its abilities (bots using it are detached)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleSkillsetDelete},
		{Method: get, Path: "/skillset/:skillsetId/ability/list", OperationID: "listSkillsetAbilities", Tag: "skillset", Summary: "List a skillset's abilities", Query: listQuery, Stream: true,
			Response: list[abilityJSON]{}, handler: a.handleAbilityList},
		{Method: get, Path: "/skillset/:skillsetId/ability/:abilityId/fetch", OperationID: "fetchSkillsetAbility", Tag: "skillset", Summary: "Fetch an ability",
			Response: abilityJSON{}, handler: a.handleAbilityFetch},
		{Method: post, Path: "/skillset/:skillsetId/ability/create", OperationID: "createSkillsetAbility", Tag: "skillset", Summary: "Create an ability (name required)",
			Request: abilityRequest{}, Response: idResponse{}, handler: a.handleAbilityCreate},
		{Method: post, Path: "/skillset/:skillsetId/ability/:abilityId/update", OperationID: "updateSkillsetAbility", Tag: "skillset", Summary: "Update an ability",
			Request: abilityRequest{}, Response: idResponse{}, handler: a.handleAbilityUpdate},
		{Method: post, Path: "/skillset/:skillsetId/ability/:abilityId/delete", OperationID: "deleteSkillsetAbility", Tag: "skillset", Summary: "Delete an ability",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleAbilityDelete},

		// Conversations.
		{Method: get, Path: "/conversation/list", OperationID: "listConversations", Tag: "conversation", Summary: "List conversations", Query: listQuery, Stream: true,
			Response: list[conversationJSON]{}, handler: a.handleConversationList},
		{Method: get, Path: "/conversation/export", OperationID: "exportConversations", Tag: "conversation", Summary: "Export conversations (test data included; audited)", Query: listQuery, Stream: true,
			Response: list[conversationJSON]{}, handler: a.handleConversationExport},
		{Method: post, Path: "/conversation/create", OperationID: "createConversation", Tag: "conversation", Summary: "Create a conversation with a bot or an inline configuration",
			Request: createConversationRequest{}, Response: createConversationResponse{}, handler: a.handleConversationCreate},
		{Method: post, Path: "/conversation/complete", OperationID: "completeConversation", Tag: "conversation", Summary: "Stateless completion: answer a given history; nothing is stored", Stream: true,
			Request: statelessRequest{}, Response: statelessResponse{}, handler: a.handleStatelessComplete},
		{Method: get, Path: "/conversation/:conversationId/fetch", OperationID: "fetchConversation", Tag: "conversation", Summary: "Fetch a conversation",
			Response: conversationJSON{}, handler: a.handleConversationFetch},
		{Method: post, Path: "/conversation/:conversationId/update", OperationID: "updateConversation", Tag: "conversation", Summary: "Update a conversation (absent fields are kept)",
			Request: conversationRequest{}, Response: idResponse{}, handler: a.handleConversationUpdate},
		{Method: post, Path: "/conversation/:conversationId/delete", OperationID: "deleteConversation", Tag: "conversation", Summary: "Delete a conversation, its messages and session tokens",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleConversationDelete},
		{Method: post, Path: "/conversation/:conversationId/send", OperationID: "sendConversationMessage", Tag: "conversation", Summary: "Store the user's message (the bot answers on receive)", Session: true, Stream: true,
			Request: sendRequest{}, Response: sendResponse{}, handler: a.handleSend},
		{Method: post, Path: "/conversation/:conversationId/receive", OperationID: "receiveConversationMessage", Tag: "conversation", Summary: "Run the bot for its next message", Session: true, Stream: true,
			Request: receiveRequest{}, Response: replyResponse{}, handler: a.handleReceive},
		{Method: post, Path: "/conversation/:conversationId/complete", OperationID: "completeConversationMessage", Tag: "conversation", Summary: "Send and receive in one call", Session: true, Stream: true,
			Request: completeRequest{}, Response: replyResponse{}, handler: a.handleComplete},
		{Method: post, Path: "/conversation/:conversationId/session/create", OperationID: "createConversationSession", Tag: "conversation", Summary: "Create a session token for this conversation (30 min to 24 h, default 1 h)",
			Request: sessionRequest{}, Response: sessionResponse{}, handler: a.handleSessionCreate},
		{Method: post, Path: "/conversation/:conversationId/upvote", OperationID: "upvoteConversation", Tag: "conversation", Summary: "Rate a conversation up (one rating per rater; session tokens rate as the end user)", Session: true,
			Request: voteRequest{}, Response: idResponse{}, handler: a.handleConversationUpvote},
		{Method: post, Path: "/conversation/:conversationId/downvote", OperationID: "downvoteConversation", Tag: "conversation", Summary: "Rate a conversation down (one rating per rater)", Session: true,
			Request: voteRequest{}, Response: idResponse{}, handler: a.handleConversationDownvote},

		// Conversation messages.
		{Method: get, Path: "/conversation/:conversationId/message/list", OperationID: "listConversationMessages", Tag: "conversation", Summary: "List a conversation's messages", Session: true, Query: listQuery, Stream: true,
			Response: list[messageJSON]{}, handler: a.handleMessageList},
		{Method: post, Path: "/conversation/:conversationId/message/create", OperationID: "createConversationMessage", Tag: "conversation", Summary: "Add a message (session tokens: user messages only, their meta kept under meta.client)", Session: true,
			Request: messageRequest{}, Response: sendResponse{}, handler: a.handleMessageCreate},
		{Method: get, Path: "/conversation/:conversationId/message/:messageId/fetch", OperationID: "fetchConversationMessage", Tag: "conversation", Summary: "Fetch a message",
			Response: messageJSON{}, handler: a.handleMessageFetch},
		{Method: post, Path: "/conversation/:conversationId/message/:messageId/update", OperationID: "updateConversationMessage", Tag: "conversation", Summary: "Update a message",
			Request: messageRequest{}, Response: idResponse{}, handler: a.handleMessageUpdate},
		{Method: post, Path: "/conversation/:conversationId/message/:messageId/delete", OperationID: "deleteConversationMessage", Tag: "conversation", Summary: "Delete a message",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleMessageDelete},
		{Method: post, Path: "/conversation/:conversationId/message/:messageId/upvote", OperationID: "upvoteConversationMessage", Tag: "conversation", Summary: "Rate a bot message up (one rating per rater; session tokens rate as the end user)", Session: true,
			Request: voteRequest{}, Response: idResponse{}, handler: a.handleMessageUpvote},
		{Method: post, Path: "/conversation/:conversationId/message/:messageId/downvote", OperationID: "downvoteConversationMessage", Tag: "conversation", Summary: "Rate a bot message down (one rating per rater)", Session: true,
			Request: voteRequest{}, Response: idResponse{}, handler: a.handleMessageDownvote},

		// QA (Parley's extension: not in ChatBotKit's API).
		{Method: get, Path: "/test/suite/list", OperationID: "listTestSuites", Tag: "test", Extension: true, Summary: "List test suites", Query: listQuery, Stream: true,
			Response: list[suiteJSON]{}, handler: a.handleSuiteList},
		{Method: post, Path: "/test/suite/:suiteId/run", OperationID: "runTestSuite", Tag: "test", Extension: true, Summary: "Start a run of a suite against the bot's current configuration, a version or a draft; it runs in the background",
			Request: runRequest{}, Response: runJSON{}, handler: a.handleRunStart},
		{Method: get, Path: "/test/run/:runId/fetch", OperationID: "fetchTestRun", Tag: "test", Extension: true, Summary: "Fetch a run with its results per case and per assertion",
			Response: runJSON{}, handler: a.handleRunFetch},
		{Method: post, Path: "/test/run/:runId/cancel", OperationID: "cancelTestRun", Tag: "test", Extension: true, Summary: "Cancel a run (the case running is abandoned, the rest skipped)",
			Request: struct{}{}, Response: idResponse{}, handler: a.handleRunCancel},
	}
}
