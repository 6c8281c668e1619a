package seed

import (
	"parley/models"
)

// helpBase is where every FAQ record's source points.
const helpBase = "https://help.northwind.example/"

// conversationName names the sample conversation; with its bot and the seed marker it finds it again.
const conversationName = "Sample: refund question"

const backstory = `You are Northwind Support, the customer support assistant of Northwind Cloud Storage, a file storage and sync service.

Personality and tone: calm, friendly and precise. Write in plain language, keep answers short (usually two to five sentences), and use numbered steps when the customer has to click through the app. Never blame the customer.

Scope: plans and pricing, billing and refunds, accounts and sign-in, security settings, sharing, syncing, the desktop, mobile and web apps, team administration, data regions and the service level agreement. Politely decline anything else, such as general IT help.

Facts: answer only from the Northwind Help Center records you are given and from your tools. Never invent prices, limits, dates, policies or features. If the records do not cover the question, say so plainly and offer to create a support ticket. End every factual answer with the help-center link(s) you used, as "Source: <url>".

Tools: use the date tool before deciding whether a time window (refunds, trash, version history) has passed, the calculator for prorations and storage arithmetic, and the status check whenever someone reports errors, slowness or failing sync.

Escalation: create a support ticket, and tell the customer you did, when they ask for a human, dispute a charge, cannot get into their account after following the recovery steps, report possible data loss or a security incident, or are still stuck after two answers. Never ask for passwords, full card numbers or recovery codes.`

func demoBot() models.Bot {
	alias := botAlias
	return models.Bot{
		Alias:       &alias,
		Name:        "Northwind Support",
		Description: "Answers Northwind Cloud Storage customers' questions about plans, billing, accounts, sharing and sync from the Help Center, and hands hard cases to a human by opening a ticket.",
		Backstory:   backstory,
		Model:       "local",
		Visibility:  models.VisibilityPrivate,
		Meta:        models.Meta{"seed": marker},
	}
}

func demoDataset() models.Dataset {
	alias := datasetAlias
	d := models.NewDataset()
	d.Alias = &alias
	d.Name = "Northwind Help Center"
	d.Description = "Customer-facing FAQ articles from help.northwind.example: plans and billing, accounts and security, sharing and sync, teams, and service commitments."
	d.Meta = models.Meta{"seed": marker}
	d.SearchMaxRecords = 3
	d.RecordMaxTokens = 1000
	d.MatchInstruction = "Answer from the Help Center records below and nothing else. Quote exact figures, menu paths and time limits as written, and finish with the source URL of each record you used. If the records only partly answer the question, say which part you can't confirm and offer a support ticket."
	d.MismatchInstruction = "No Help Center article matched this question. Do not guess or rely on general knowledge: tell the customer you don't have verified information on that, and offer to create a support ticket or share the support hours."
	return d
}

// faqEntry is one help-center article, stored as a dataset record.
type faqEntry struct {
	Title  string
	Source string
	Text   string
}

// faq is the Northwind Help Center; the facts here are the ones the bot may state.
var faq = []faqEntry{
	{
		Title:  "Plans and pricing",
		Source: helpBase + "billing/plans",
		Text:   "Northwind has three plans. Free includes 5 GB of storage for one user. Plus costs $8 per month or $80 per year and includes 2 TB. Team costs $15 per user per month, billed annually, with 5 TB of pooled storage per user and admin controls. Prices exclude VAT and sales tax, which are added at checkout based on your billing address.",
	},
	{
		Title:  "Refunds",
		Source: helpBase + "billing/refunds",
		Text:   "Annual Plus and Team subscriptions can be refunded in full within 30 days of purchase or renewal. Monthly subscriptions are not refunded, but you can cancel at any time and keep your plan until the end of the current billing period. To request a refund, go to Settings > Billing > Request refund, or contact support. Approved refunds go back to the original payment method within 5-10 business days, and the account moves to the Free plan.",
	},
	{
		Title:  "Changing your plan",
		Source: helpBase + "billing/change-plan",
		Text:   "You can change plans in Settings > Billing > Change plan. Upgrades take effect immediately and you pay a prorated amount for the rest of the current billing period. Downgrades take effect at your next renewal date. If your files exceed the new plan's storage when a downgrade takes effect, see the article on storage limits.",
	},
	{
		Title:  "Storage limits and what counts",
		Source: helpBase + "storage/limits",
		Text:   "Your storage use is shown in Settings > Storage. Files in your Trash count toward the limit; older file versions and files others share with you do not. If you go over your plan's limit, nothing is deleted: your files stay available to view and download, but uploads and sync of new changes pause until you free up space or upgrade.",
	},
	{
		Title:  "Maximum file size",
		Source: helpBase + "storage/file-size",
		Text:   "The desktop apps upload files of up to 50 GB each on Plus and Team plans, and up to 2 GB on the Free plan. Uploads through a web browser are limited to 5 GB per file on every plan. For larger files, split them into parts or use the desktop app.",
	},
	{
		Title:  "Sharing links",
		Source: helpBase + "sharing/links",
		Text:   "Right-click a file or folder and choose Share > Copy link to create a link that anyone with it can open. Links are view-only by default; you can allow editing. Plus and Team plans can also set a password and an expiry date on a link. Revoke a link at any time from the Shared page; it stops working immediately.",
	},
	{
		Title:  "Resetting your password",
		Source: helpBase + "account/password-reset",
		Text:   "Choose Forgot password on the sign-in page and enter your account email; the reset link we send is valid for 60 minutes. If two-factor authentication is on, you still need your second factor after resetting. Team members who sign in with single sign-on (SSO) must reset their password through their company's identity provider instead.",
	},
	{
		Title:  "Two-factor authentication",
		Source: helpBase + "security/two-factor",
		Text:   "Turn on two-factor authentication in Settings > Security. Northwind supports authenticator apps (TOTP) and hardware security keys; SMS codes are not offered. When you turn it on you get 10 single-use recovery codes, so store them somewhere safe. If you lose both your second factor and your recovery codes, support must verify your identity, which takes up to 3 business days.",
	},
	{
		Title:  "Deleting your account",
		Source: helpBase + "account/delete",
		Text:   "Go to Settings > Account > Delete account and confirm with your password. Your account is deactivated at once and permanently deleted after a 14-day grace period, during which you can sign in to cancel the deletion. Any subscription is cancelled; refunds follow the usual refund policy. Team owners must transfer ownership or delete the team first.",
	},
	{
		Title:  "Exporting your data",
		Source: helpBase + "account/export",
		Text:   "To download everything, go to Settings > Privacy > Export data. We email you a link to a ZIP archive of your files and a JSON file of your account data, usually within 48 hours; the link is valid for 7 days. Large accounts are split into several archives of up to 50 GB each. You can also keep a full local copy with the desktop app.",
	},
	{
		Title:  "Supported platforms",
		Source: helpBase + "apps/platforms",
		Text:   "Desktop apps are available for Windows 10 and later, macOS 12 and later, and Linux (Ubuntu 22.04+ and Fedora 38+). Mobile apps require iOS 16 or later, or Android 10 or later. The web app supports the two latest versions of Chrome, Firefox, Safari and Edge.",
	},
	{
		Title:  "Sync conflicts",
		Source: helpBase + "sync/conflicts",
		Text:   "A conflict happens when the same file is changed on two devices before either change syncs. Northwind never overwrites one with the other: it keeps both, and saves the later one as \"name (conflicted copy from DEVICE YYYY-MM-DD).ext\" next to the original. Compare the two, keep the version you want, and delete the other.",
	},
	{
		Title:  "Offline access",
		Source: helpBase + "sync/offline",
		Text:   "On the desktop, files in your Northwind folder are kept on your computer unless you mark them Online-only. In the mobile apps, tap ... > Make available offline on a file or folder to keep a copy on the device. Changes made offline upload automatically when the device reconnects.",
	},
	{
		Title:  "Team admin roles",
		Source: helpBase + "teams/roles",
		Text:   "A team has four roles. The Owner (one per team) can do everything, including deleting the team and transferring ownership. Admins add and remove members, reset members' two-factor settings and set sharing policies. Billing admins manage payment methods and invoices only. Members use their own storage and share within the team's policies.",
	},
	{
		Title:  "Invoices and receipts",
		Source: helpBase + "billing/invoices",
		Text:   "An invoice is issued for every charge and emailed to the billing contact. Download past invoices as PDF from Settings > Billing > Invoices. To show a company name, address or VAT ID, add them under Billing details before the next charge; invoices from the current calendar year can be reissued with updated details on request.",
	},
	{
		Title:  "Data residency and regions",
		Source: helpBase + "security/data-regions",
		Text:   "Team plans choose where files are stored when the team is created: EU (Frankfurt), US (Oregon) or Asia-Pacific (Singapore). Free and Plus accounts are stored in the region nearest to where the account was created. Teams can ask support to move to another region; a move takes up to 5 business days and files stay available during it.",
	},
	{
		Title:  "Uptime SLA",
		Source: helpBase + "legal/sla",
		Text:   "Team plans include a 99.9% monthly uptime commitment. If uptime falls below 99.9% in a month, the team can claim a service credit of 10% of that month's fee, or 25% below 99.0%. Claims must be made within 30 days of the end of the affected month. Current and past incidents are listed at https://status.northwind.example.",
	},
	{
		Title:  "Contacting support and hours",
		Source: helpBase + "support/contact",
		Text:   "Chat and email support (support@northwind.example) are staffed Monday to Friday, 08:00-20:00 CET. Plus customers get a first reply within one business day and Team customers within 4 hours during support hours. Team plans also have 24/7 support for outages. Free accounts are supported through the Help Center and community forum.",
	},
	{
		Title:  "File version history",
		Source: helpBase + "files/version-history",
		Text:   "Northwind keeps earlier versions of your files for 30 days on Free, 180 days on Plus and one year on Team. To restore one, right-click the file and choose Version history, then Restore next to the version you want; the current version becomes a version in turn. Older versions do not count toward your storage.",
	},
	{
		Title:  "Trash and deleted files",
		Source: helpBase + "files/trash",
		Text:   "Deleted files stay in the Trash for 30 days (90 days on Team plans) and can be restored from there with Restore. After that they are permanently deleted. Emptying the Trash or deleting a file from it is permanent straight away. Files in the Trash count toward your storage.",
	},
}

func demoSkillset() models.Skillset {
	alias := skillsetAlias
	return models.Skillset{
		Alias:       &alias,
		Name:        "Support tools",
		Description: "Tools the Northwind support bot uses: today's date, arithmetic, the live service status and handing a case to a human.",
		Visibility:  models.VisibilityPrivate,
		Meta:        models.Meta{"seed": marker},
	}
}

func demoAbilities() []models.Ability {
	return []models.Ability{
		{
			Name:        "Current date and time",
			Description: "Use when an answer depends on today's date or the time: whether a refund, trash or version-history window has passed, or whether support is open right now.",
			Instruction: "Returns the current date and time in UTC and in Central European Time (support hours are given in CET). Count days from the date the customer gives you; ask for it if you don't have it.",
			Meta:        models.Meta{"action": "builtin:datetime", "seed": marker},
		},
		{
			Name:        "Calculator",
			Description: "Use for any arithmetic: prorated upgrade charges, refund or service-credit amounts, per-user Team costs, storage totals and unit conversions.",
			Instruction: "Evaluate one arithmetic expression, such as (15 * 12) * 7 or 0.10 * 150. Show the customer the figures you used, rounded to two decimals for money.",
			Meta:        models.Meta{"action": "builtin:calculator", "seed": marker},
		},
		{
			Name:        "Check service status",
			Description: "Use when a customer reports errors, slowness, failing uploads or sync, or asks whether Northwind is down.",
			Instruction: "Fetches the live status of each component (web app, sync, sharing links, sign-in) and any open incidents. If there is an incident, say so, share its latest update and link to https://status.northwind.example; otherwise continue troubleshooting.",
			Meta: models.Meta{
				"action": "fetch",
				"method": "GET",
				"url":    "https://status.northwind.example/api/status",
				"seed":   marker,
			},
		},
		{
			Name:        "Create support ticket",
			Description: "Use when the case needs a human: the customer asks for one, disputes a charge, can't recover their account, reports data loss or a security problem, or is still stuck after two answers.",
			Instruction: "Opens a ticket for the support team. Fill in the customer's account email, a one-line subject, a summary of the problem and what was already tried, and a priority (normal, or urgent for data loss and security). Tell the customer the ticket number and when to expect a reply; never include passwords, card numbers or recovery codes.",
			Meta: models.Meta{
				"action": "fetch",
				"method": "POST",
				"url":    "https://support.northwind.example/api/tickets",
				"parameters": []any{
					map[string]any{"name": "email", "type": "string", "required": true, "description": "The customer's account email."},
					map[string]any{"name": "subject", "type": "string", "required": true, "description": "One-line summary."},
					map[string]any{"name": "summary", "type": "string", "required": true, "description": "The problem and what was already tried."},
					map[string]any{"name": "priority", "type": "string", "enum": []any{"normal", "urgent"}, "description": "urgent for data loss or security incidents."},
				},
				"seed": marker,
			},
		},
	}
}

// demoConversation is the sample conversation and its customer's messages.
// The answers are not written here: the seed asks the offline provider, as
// the seeded bot's turns do (see storeExchange), so replaying the sample
// against the seeded bot changes nothing on either database, and a test
// case made from it passes.
func demoConversation(botID string) (models.Conversation, []string) {
	conv := models.Conversation{
		BotID:       &botID,
		Name:        conversationName,
		Description: "A customer on an annual Plus plan asks for a refund; shows retrieval from the Help Center and cited answers.",
		Meta:        models.Meta{"seed": marker},
	}
	return conv, []string{
		"Hi, I bought the annual Plus plan about two weeks ago but I've hardly used it. Can I still get my money back?",
		"OK. What happens to my files when I go over the Free storage limit? I have about 300 GB.",
		"Perfect, I'll download my photos first and then request the refund. Thanks!",
	}
}
