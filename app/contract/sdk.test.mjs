// SDK contract test: drives Parley's /api/v1 with the official ChatBotKit
// client, @chatbotkit/sdk (pinned in package.json), through the whole story a
// customer's integration goes through: knowledge, abilities, a bot,
// conversations, streamed answers, session tokens for end users, stateless
// completions, errors and deletes.
//
// Run by app/contract_test.go (TestSDKContract) against a freshly migrated
// server, or by hand:
//
//	PARLEY_URL=http://127.0.0.1:8080 PARLEY_SECRET=prl_… node app/contract/sdk.test.mjs
//
// The server must run with PARLEY_SESSION_RATE=30 (or less) so that the rate
// limit step is quick. Plain fetch is used only where the SDK has no way to
// show something (the HTTP status and Retry-After header of a 429), and each
// use says so.
//
// Each passed step prints one "ok" line; the first failure prints what was
// expected and what came back, and exits with status 1.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { inspect } from 'node:util'

import { ChatBotKit } from '@chatbotkit/sdk'

const baseUrl = process.env.PARLEY_URL
const secret = process.env.PARLEY_SECRET
if (!baseUrl || !secret) {
  console.error('FAIL setup: set PARLEY_URL (the server base URL) and PARLEY_SECRET (an API secret from `parley secret create`)')
  process.exit(2)
}

// ---- harness ----

// exercised collects every SDK method called, as "conversation.message.create".
const exercised = new Set()

// instrument wraps an SDK client so that every API method called on it (or on
// its sub-clients) is recorded in exercised. Methods run on the real client,
// whose private fields need the real `this`.
function instrument(client, prefix = '') {
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof prop !== 'string' || prop === 'constructor' || prop === 'then') {
        return value
      }
      if (value && typeof value === 'object' && typeof value.clientFetch === 'function') {
        return instrument(value, prefix + prop + '.')
      }
      if (typeof value === 'function' && !['clientFetch', 'extend'].includes(prop)) {
        return (...args) => {
          exercised.add(prefix + prop)
          return value.apply(target, args)
        }
      }
      return value
    },
  })
}

function sdk(options) {
  return instrument(new ChatBotKit({ baseUrl, ...options }))
}

const client = sdk({ secret })

let stepNo = 0
const started = Date.now()

// step runs one named check; the first failure ends the run.
async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
  } catch (err) {
    console.error(`FAIL step ${stepNo + 1}: ${name}`)
    console.error(err instanceof assert.AssertionError ? err.message : inspect(err, { depth: 6 }))
    if (err?.code && err?.name === 'FetchError') {
      console.error(`(FetchError code ${err.code})`)
    }
    process.exit(1)
  }
  stepNo++
  console.log(`ok ${String(stepNo).padStart(2)} - ${name} (${Date.now() - t0} ms)`)
}

// rejects awaits an SDK call that must fail with a FetchError of this code.
async function rejects(call, code, what) {
  let value
  try {
    value = await call
  } catch (err) {
    assert.equal(err?.name, 'FetchError', `${what}: want a FetchError, got ${inspect(err)}`)
    assert.equal(err.code, code, `${what}: FetchError code (message: ${err.message})`)
    assert.ok(typeof err.message === 'string' && err.message.length > 0, `${what}: the error has a message`)
    return err
  }
  assert.fail(`${what}: want FetchError ${code}, but the call succeeded with ${inspect(value, { depth: 4 })}`)
}

// isMs asserts t is a timestamp in milliseconds from this run's neighbourhood.
function isMs(t, what) {
  assert.equal(typeof t, 'number', `${what} is a number`)
  assert.ok(Number.isInteger(t), `${what} is a whole number of ms: ${t}`)
  assert.ok(t > started - 10 * 60_000 && t < Date.now() + 10 * 60_000, `${what} = ${t} is not a time in ms around now (${Date.now()})`)
}

function isId(v, what) {
  assert.equal(typeof v, 'string', `${what} is a string`)
  assert.ok(v.length > 0, `${what} is not empty`)
}

// pages lists every item through take/cursor paging and checks the pages.
async function pages(list, take) {
  const seen = []
  let cursor
  for (let i = 0; i < 50; i++) {
    const res = await list({ take, ...(cursor ? { cursor } : {}) })
    assert.ok(Array.isArray(res.items), `page ${i + 1}: items is an array: ${inspect(res)}`)
    assert.ok(res.items.length <= take, `page ${i + 1}: ${res.items.length} items, more than take=${take}`)
    if (res.items.length === 0) {
      break
    }
    seen.push(...res.items)
    assert.equal(typeof res.cursor, 'string', `page ${i + 1}: cursor is a string`)
    if (!res.cursor) {
      break
    }
    assert.notEqual(res.cursor, cursor, `page ${i + 1}: the cursor moved on`)
    cursor = res.cursor
  }
  const ids = seen.map((x) => x.id)
  assert.equal(new Set(ids).size, ids.length, `paging repeated items: ${ids.join(', ')}`)
  return seen
}

async function collect(stream) {
  const events = []
  for await (const ev of stream) {
    events.push(ev)
  }
  return events
}

// The event types the SDK's types allow in a completion stream.
const streamTypes = new Set(['result', 'error', 'token', 'reasoningToken', 'message', 'abort', 'completeBegin',
  'completeEnd', 'waitForChannelMessageBegin', 'waitForChannelMessageEnd', 'usage'])

// ---- the story ----

// Facts about a fictional product; each question below is answered by one.
const facts = {
  pricing: { text: 'Acme Cloud pricing: the Starter plan costs 9 dollars per month and the Pro plan costs 29 dollars per month.', source: 'https://help.acme.example/pricing' },
  refund: { text: 'Acme Cloud refund policy: annual subscriptions are refunded in full within 30 days of purchase.', source: 'https://help.acme.example/refunds' },
  password: { text: 'To reset your Acme Cloud password, open the sign-in page, click Forgot password and follow the emailed link.', source: 'https://help.acme.example/password-reset' },
  hours: { text: 'Acme Cloud support is open Monday to Friday from 9:00 to 17:00 Central European Time.', source: 'https://help.acme.example/support-hours' },
  backups: { text: 'Acme Cloud keeps nightly backups for 90 days in two European data centres.', source: 'https://help.acme.example/backups' },
}

const S = {} // ids created along the way

// 1. Datasets and records.

await step('dataset.create (name, description; store omitted)', async () => {
  const res = await client.dataset.create({ name: 'Acme Cloud help center', description: 'Answers about Acme Cloud plans and accounts.' })
  isId(res.id, 'dataset id')
  S.dataset = res.id
})

await step('dataset.fetch shows the dataset', async () => {
  const d = await client.dataset.fetch(S.dataset)
  assert.equal(d.id, S.dataset)
  assert.equal(d.name, 'Acme Cloud help center')
  assert.equal(d.description, 'Answers about Acme Cloud plans and accounts.')
  isMs(d.createdAt, 'dataset.createdAt')
  isMs(d.updatedAt, 'dataset.updatedAt')
})

await step('dataset.update changes the description and keeps the name', async () => {
  const res = await client.dataset.update(S.dataset, { description: 'Everything support knows about Acme Cloud.' })
  assert.equal(res.id, S.dataset)
  const d = await client.dataset.fetch(S.dataset)
  assert.equal(d.description, 'Everything support knows about Acme Cloud.')
  assert.equal(d.name, 'Acme Cloud help center')
})

await step('dataset.list finds it', async () => {
  const res = await client.dataset.list()
  assert.ok(Array.isArray(res.items), 'items is an array')
  assert.ok(res.items.some((d) => d.id === S.dataset && d.name === 'Acme Cloud help center'), `dataset ${S.dataset} not in ${inspect(res.items)}`)
})

await step('dataset.record.create ×5', async () => {
  S.records = {}
  for (const [key, f] of Object.entries(facts)) {
    const res = await client.dataset.record.create(S.dataset, { text: f.text, source: f.source })
    isId(res.id, `record ${key} id`)
    S.records[key] = res.id
  }
  assert.equal(new Set(Object.values(S.records)).size, 5, 'five distinct record ids')
})

await step('dataset.record.list pages with take 2 and cursor: all 5, no duplicates', async () => {
  const first = await client.dataset.record.list(S.dataset, { take: 2 })
  assert.equal(first.items.length, 2, 'the first page has take=2 items')
  assert.ok(first.cursor, 'the first page has a cursor')
  const second = await client.dataset.record.list(S.dataset, { take: 2, cursor: first.cursor })
  assert.equal(second.items.length, 2, 'the second page has 2 items')
  assert.ok(second.items.every((r) => !first.items.some((f) => f.id === r.id)), 'the second page repeats none of the first')
  const all = await pages((q) => client.dataset.record.list(S.dataset, q), 2)
  assert.deepEqual(new Set(all.map((r) => r.id)), new Set(Object.values(S.records)), 'paging saw exactly the 5 records')
  for (const r of all) {
    isMs(r.createdAt, 'record.createdAt')
    assert.equal(typeof r.text, 'string')
  }
})

await step('dataset.record.list(...).stream() yields every record as an item event', async () => {
  const events = await collect(client.dataset.record.list(S.dataset).stream())
  assert.ok(events.every((e) => e.type === 'item'), `only item events: ${inspect(events.map((e) => e.type))}`)
  assert.deepEqual(new Set(events.map((e) => e.data.id)), new Set(Object.values(S.records)))
  assert.equal(events.length, 5, 'each record once')
})

await step('dataset.record.fetch shows text and source', async () => {
  const r = await client.dataset.record.fetch(S.dataset, S.records.refund)
  assert.equal(r.id, S.records.refund)
  assert.equal(r.text, facts.refund.text)
  assert.equal(r.source, facts.refund.source)
  isMs(r.createdAt, 'record.createdAt')
})

await step('dataset.record.update changes the text', async () => {
  facts.hours.text = 'Acme Cloud support is open Monday to Saturday from 8:00 to 18:00 Central European Time.'
  const res = await client.dataset.record.update(S.dataset, S.records.hours, { text: facts.hours.text })
  assert.equal(res.id, S.records.hours)
  const r = await client.dataset.record.fetch(S.dataset, S.records.hours)
  assert.equal(r.text, facts.hours.text)
  assert.equal(r.source, facts.hours.source, 'the source is kept')
})

await step('dataset.record.delete removes one (fetch → NOT_FOUND, list has 4)', async () => {
  const res = await client.dataset.record.delete(S.dataset, S.records.backups)
  assert.equal(res.id, S.records.backups)
  await rejects(client.dataset.record.fetch(S.dataset, S.records.backups), 'NOT_FOUND', 'fetch of a deleted record')
  const list = await client.dataset.record.list(S.dataset, { take: 100 })
  assert.equal(list.items.length, 4)
  delete S.records.backups
})

await step('dataset.search ranks the relevant record first, with a score', async () => {
  const res = await client.dataset.search(S.dataset, 'How much does the Pro plan cost per month?')
  assert.equal(res.id, S.dataset, 'search answers with the dataset id')
  assert.ok(Array.isArray(res.records) && res.records.length > 0, `search found records: ${inspect(res)}`)
  const top = res.records[0]
  assert.equal(top.id, S.records.pricing, `the pricing record is first: ${inspect(res.records)}`)
  assert.equal(top.text, facts.pricing.text)
  assert.equal(typeof top.score, 'number')
  assert.ok(top.score > 0, `score ${top.score} > 0`)
  for (let i = 1; i < res.records.length; i++) {
    assert.ok(res.records[i].score <= res.records[i - 1].score, 'records come best first')
  }
})

// 2. Skillsets and abilities.

await step('skillset.create', async () => {
  const res = await client.skillset.create({ name: 'Acme tools', description: 'What the Acme bot can do.' })
  isId(res.id, 'skillset id')
  S.skillset = res.id
})

await step('skillset.fetch, skillset.update and skillset.list', async () => {
  const k = await client.skillset.fetch(S.skillset)
  assert.equal(k.id, S.skillset)
  assert.equal(k.name, 'Acme tools')
  isMs(k.createdAt, 'skillset.createdAt')
  assert.equal((await client.skillset.update(S.skillset, { description: 'Arithmetic for prices.' })).id, S.skillset)
  assert.equal((await client.skillset.fetch(S.skillset)).description, 'Arithmetic for prices.')
  const list = await client.skillset.list()
  assert.ok(list.items.some((x) => x.id === S.skillset), 'the skillset is listed')
})

// Parley's builtin actions are named in the ability's meta ("action":
// "builtin:calculator", see app/engine/ability); the instruction is prose.
await step('skillset.ability.create (builtin calculator)', async () => {
  const res = await client.skillset.ability.create(S.skillset, {
    name: 'Calculator',
    description: 'Use for any arithmetic: plan prices, totals and discounts.',
    instruction: 'Evaluate one arithmetic expression, such as 29 * 12.',
    meta: { action: 'builtin:calculator' },
  })
  isId(res.id, 'ability id')
  S.ability = res.id
})

await step('skillset.ability.list, fetch and update', async () => {
  const list = await client.skillset.ability.list(S.skillset)
  assert.ok(list.items.some((a) => a.id === S.ability && a.name === 'Calculator'), `ability listed: ${inspect(list.items)}`)
  const a = await client.skillset.ability.fetch(S.skillset, S.ability)
  assert.equal(a.id, S.ability)
  assert.equal(a.instruction, 'Evaluate one arithmetic expression, such as 29 * 12.')
  assert.equal(a.meta?.action, 'builtin:calculator')
  isMs(a.createdAt, 'ability.createdAt')
  assert.equal((await client.skillset.ability.update(S.skillset, S.ability, { description: 'Use for arithmetic on prices.' })).id, S.ability)
  const b = await client.skillset.ability.fetch(S.skillset, S.ability)
  assert.equal(b.description, 'Use for arithmetic on prices.')
  assert.equal(b.name, 'Calculator', 'the name is kept')
  assert.equal(b.meta?.action, 'builtin:calculator', 'the action is kept')
})

// 3. Bots.

const backstory = 'You are the Acme Cloud support assistant. Answer from the help center.'

await step('bot.create with backstory, model local, datasetId and skillsetId', async () => {
  const res = await client.bot.create({
    name: 'Acme support', description: 'Answers customers.', backstory, model: 'local',
    datasetId: S.dataset, skillsetId: S.skillset,
  })
  isId(res.id, 'bot id')
  S.bot = res.id
})

await step('bot.fetch shows datasetId and skillsetId', async () => {
  const b = await client.bot.fetch(S.bot)
  assert.equal(b.id, S.bot)
  assert.equal(b.name, 'Acme support')
  assert.equal(b.backstory, backstory)
  assert.equal(b.model, 'local')
  assert.equal(b.datasetId, S.dataset)
  assert.equal(b.skillsetId, S.skillset)
  isMs(b.createdAt, 'bot.createdAt')
})

await step('bot.update renames and keeps the attachments', async () => {
  assert.equal((await client.bot.update(S.bot, { name: 'Acme support v2' })).id, S.bot)
  const b = await client.bot.fetch(S.bot)
  assert.equal(b.name, 'Acme support v2')
  assert.equal(b.datasetId, S.dataset)
  assert.equal(b.skillsetId, S.skillset)
  assert.equal(b.backstory, backstory)
})

await step('bot.list finds it', async () => {
  const list = await client.bot.list()
  assert.ok(list.items.some((b) => b.id === S.bot && b.name === 'Acme support v2'), `bot listed: ${inspect(list.items)}`)
})

// 4. Conversations.

await step('conversation.create with botId', async () => {
  const res = await client.conversation.create({ botId: S.bot })
  isId(res.id, 'conversation id')
  S.conv = res.id
})

await step('conversation.create with messages echoes them and stores them', async () => {
  const messages = [{ type: 'user', text: 'Hi, I have a billing question.' }, { type: 'bot', text: 'Sure, ask away.' }]
  const res = await client.conversation.create({ botId: S.bot, name: 'Seeded', messages })
  isId(res.id, 'conversation id')
  assert.deepEqual(res.messages?.map((m) => [m.type, m.text]), messages.map((m) => [m.type, m.text]), 'messages echoed')
  const list = await client.conversation.message.list(res.id, { order: 'asc' })
  assert.deepEqual(list.items.map((m) => [m.type, m.text]), messages.map((m) => [m.type, m.text]), 'messages stored in order')
  assert.equal((await client.conversation.delete(res.id)).id, res.id)
})

await step('conversation.fetch', async () => {
  const c = await client.conversation.fetch(S.conv)
  assert.equal(c.id, S.conv)
  assert.equal(c.botId, S.bot)
  isMs(c.createdAt, 'conversation.createdAt')
  isMs(c.updatedAt, 'conversation.updatedAt')
})

await step('conversation.update (name, meta)', async () => {
  assert.equal((await client.conversation.update(S.conv, { name: 'Pricing questions', meta: { ticket: 'T-1001', channel: 'sdk' } })).id, S.conv)
  const c = await client.conversation.fetch(S.conv)
  assert.equal(c.name, 'Pricing questions')
  assert.deepEqual(c.meta, { ticket: 'T-1001', channel: 'sdk' })
  assert.equal(c.botId, S.bot, 'the bot is kept')
})

await step('conversation.list pages with take 2 and cursor (3 more conversations)', async () => {
  S.extraConvs = []
  for (let i = 1; i <= 3; i++) {
    S.extraConvs.push((await client.conversation.create({ botId: S.bot, name: `Paging ${i}` })).id)
  }
  const first = await client.conversation.list({ take: 2 })
  assert.equal(first.items.length, 2, 'the first page has take=2 items')
  const all = await pages((q) => client.conversation.list(q), 2)
  const ids = new Set(all.map((c) => c.id))
  for (const id of [S.conv, ...S.extraConvs]) {
    assert.ok(ids.has(id), `conversation ${id} seen while paging`)
  }
})

// 5. send, receive, complete.

await step('conversation.send → {id}', async () => {
  const res = await client.conversation.send(S.conv, { text: 'How much does the Pro plan cost per month?' })
  isId(res.id, 'sent message id')
  S.sent = res.id
})

await step('conversation.receive → {id, text} from the pricing record', async () => {
  const res = await client.conversation.receive(S.conv)
  isId(res.id, 'received message id')
  assert.match(res.text, /29 dollars/, `the answer quotes the pricing record: ${res.text}`)
  assert.equal(typeof res.usage?.token, 'number', `usage.token: ${inspect(res)}`)
  S.received = res
})

await step('conversation.complete(id, {text}) → {id, text, usage.token > 0, end.reason stop}', async () => {
  const res = await client.conversation.complete(S.conv, { text: 'What is your refund policy for annual subscriptions?' })
  isId(res.id, 'completed message id')
  assert.match(res.text, /30 days/, `the answer quotes the refund record: ${res.text}`)
  assert.ok(res.usage?.token > 0, `usage.token > 0: ${inspect(res)}`)
  assert.equal(res.end?.reason, 'stop')
  S.completed = res
})

await step('conversation.complete runs the builtin calculator ability', async () => {
  const res = await client.conversation.complete(S.conv, { text: 'What is 29 * 12?' })
  assert.match(res.text, /348/, `the calculator's result is in the answer: ${res.text}`)
  assert.equal(res.end?.reason, 'stop')
  S.calc = res
})

// 6. Streamed complete.

await step('conversation.send(...).stream() and receive(...).stream() end with their result', async () => {
  const sent = await collect(client.conversation.send(S.conv, { text: 'When is support open?' }).stream())
  assert.equal(sent.length, 1, `send streams one event: ${inspect(sent)}`)
  assert.equal(sent[0].type, 'result')
  isId(sent[0].data.id, 'sent id')
  const got = await collect(client.conversation.receive(S.conv).stream())
  const last = got[got.length - 1]
  assert.equal(last?.type, 'result', `receive's stream ends with the result: ${inspect(got.slice(-3))}`)
  assert.equal(got.filter((e) => e.type === 'token').map((e) => e.data.token).join(''), last.data.text)
  assert.match(last.data.text, /Monday to Saturday/, `the answer quotes the updated hours record: ${last.data.text}`)
  S.streamSent = { id: sent[0].data.id, text: 'When is support open?' }
  S.streamReceived = last.data
})

await step('conversation.complete(id, {text}).stream(): tokens, then the result last', async () => {
  const events = await collect(client.conversation.complete(S.conv, { text: 'How do I reset my password?' }).stream())
  for (const ev of events) {
    assert.ok(streamTypes.has(ev.type), `event type ${ev.type} is one the SDK knows: ${inspect(ev)}`)
    assert.ok(ev.data && typeof ev.data === 'object', `event has data: ${inspect(ev)}`)
  }
  assert.ok(!events.some((e) => e.type === 'error'), `no error events: ${inspect(events)}`)
  const tokens = events.filter((e) => e.type === 'token')
  assert.ok(tokens.length >= 1, 'at least one token event')
  const last = events[events.length - 1]
  assert.equal(last.type, 'result', `the last event is the result: ${inspect(events.slice(-3))}`)
  assert.equal(events.filter((e) => e.type === 'result').length, 1, 'one result event')
  assert.equal(tokens.map((t) => t.data.token).join(''), last.data.text, 'the tokens joined are the result text')
  assert.match(last.data.text, /Forgot password/, `the answer quotes the password record: ${last.data.text}`)
  isId(last.data.id, 'result id')
  assert.ok(last.data.usage?.token > 0, 'result usage.token > 0')
  assert.equal(last.data.end?.reason, 'stop')
  const ctx = events.find((e) => e.type === 'message' && e.data.type === 'context')
  assert.ok(ctx, `a context message event shows the retrieved records: ${inspect(events.filter((e) => e.type !== 'token'))}`)
  const usage = events.find((e) => e.type === 'usage')
  if (usage) {
    assert.equal(typeof usage.data.model, 'string')
    assert.equal(typeof usage.data.inputTokensUsed, 'number')
    assert.equal(typeof usage.data.outputTokensUsed, 'number')
  }
  S.streamed = last.data
})

// 7. Messages.

await step('conversation.message.list: the whole exchange in order, times in ms', async () => {
  const res = await client.conversation.message.list(S.conv, { take: 100, order: 'asc' })
  const items = res.items
  const types = items.map((m) => m.type)
  for (const m of items) {
    isId(m.id, 'message id')
    isMs(m.createdAt, `message ${m.id} createdAt`)
    isMs(m.updatedAt, `message ${m.id} updatedAt`)
  }
  for (let i = 1; i < items.length; i++) {
    assert.ok(items[i].createdAt >= items[i - 1].createdAt, `order asc: ${inspect(items.map((m) => [m.type, m.createdAt]))}`)
  }
  const at = (id) => items.findIndex((m) => m.id === id)
  const want = [
    [S.sent, 'user', 'How much does the Pro plan cost per month?'],
    [S.received.id, 'bot', S.received.text],
    [S.completed.id, 'bot', S.completed.text],
    [S.calc.id, 'bot', S.calc.text],
    [S.streamSent.id, 'user', S.streamSent.text],
    [S.streamReceived.id, 'bot', S.streamReceived.text],
    [S.streamed.id, 'bot', S.streamed.text],
  ]
  let prev = -1
  for (const [id, type, text] of want) {
    const i = at(id)
    assert.ok(i > prev, `message ${id} (${type}) comes after the one before it: ${inspect(types)}`)
    assert.equal(items[i].type, type)
    assert.equal(items[i].text, text)
    prev = i
  }
  const users = items.filter((m) => m.type === 'user').map((m) => m.text)
  assert.deepEqual(users, ['How much does the Pro plan cost per month?', 'What is your refund policy for annual subscriptions?',
    'What is 29 * 12?', 'When is support open?', 'How do I reset my password?'])
  // Each answer from the help center has its context message just before it.
  for (const id of [S.received.id, S.completed.id, S.streamReceived.id, S.streamed.id]) {
    const i = at(id)
    assert.equal(items[i - 1].type, 'context', `a context message precedes bot message ${id}: ${inspect(types)}`)
  }
  assert.ok(types.includes('activity'), `the calculator run shows as an activity message: ${inspect(types)}`)
  const desc = await client.conversation.message.list(S.conv, { take: 100, order: 'desc' })
  assert.deepEqual(desc.items.map((m) => m.id), items.map((m) => m.id).reverse(), 'order desc is the reverse')
  S.botMessage = S.completed.id
})

await step('conversation.message.list(...).stream() yields every message as an item event', async () => {
  const events = await collect(client.conversation.message.list(S.conv, { order: 'asc' }).stream())
  assert.ok(events.every((e) => e.type === 'item'), `only item events: ${inspect(events.map((e) => e.type))}`)
  const page = await client.conversation.message.list(S.conv, { take: 100, order: 'asc' })
  assert.deepEqual(events.map((e) => e.data.id), page.items.map((m) => m.id), 'the stream and the page agree')
})

await step('conversation.message.create (type user), fetch, update, delete', async () => {
  const res = await client.conversation.message.create(S.conv, { type: 'user', text: 'A note added through the SDK.' })
  isId(res.id, 'created message id')
  const m = await client.conversation.message.fetch(S.conv, res.id)
  assert.equal(m.id, res.id)
  assert.equal(m.type, 'user')
  assert.equal(m.text, 'A note added through the SDK.')
  isMs(m.createdAt, 'message.createdAt')
  assert.equal((await client.conversation.message.update(S.conv, res.id, { text: 'An edited note.' })).id, res.id)
  assert.equal((await client.conversation.message.fetch(S.conv, res.id)).text, 'An edited note.')
  assert.equal((await client.conversation.message.delete(S.conv, res.id)).id, res.id)
  await rejects(client.conversation.message.fetch(S.conv, res.id), 'NOT_FOUND', 'fetch of a deleted message')
})

await step('conversation.message.upvote and downvote a bot message', async () => {
  assert.equal((await client.conversation.message.upvote(S.conv, S.botMessage, { reason: 'Clear answer' })).id, S.botMessage)
  let m = await client.conversation.message.fetch(S.conv, S.botMessage)
  assert.ok(m.meta?.rating?.value > 0, `an upvote rates up: ${inspect(m.meta)}`)
  assert.equal((await client.conversation.message.downvote(S.conv, S.botMessage, { value: 50, reason: 'Too short' })).id, S.botMessage)
  m = await client.conversation.message.fetch(S.conv, S.botMessage)
  assert.ok(m.meta?.rating?.value < 0, `a downvote rates down: ${inspect(m.meta)}`)
  assert.equal(m.text, S.completed.text, 'voting keeps the text')
})

await step('conversation.upvote and downvote', async () => {
  assert.equal((await client.conversation.upvote(S.conv, {})).id, S.conv)
  let c = await client.conversation.fetch(S.conv)
  assert.ok(c.meta?.rating?.value > 0, `an upvote rates up: ${inspect(c.meta)}`)
  assert.equal(c.meta.ticket, 'T-1001', 'voting keeps the other meta')
  assert.equal((await client.conversation.downvote(S.conv, { reason: 'Missed the point' })).id, S.conv)
  c = await client.conversation.fetch(S.conv)
  assert.ok(c.meta?.rating?.value < 0, `a downvote rates down: ${inspect(c.meta)}`)
})

// 8. Session tokens.

let session // an SDK client authenticated with the session token

await step('conversation.session.create({durationInSeconds: 3600}) → {id, token, expiresAt in ms}', async () => {
  const before = Date.now()
  const res = await client.conversation.session.create(S.conv, { durationInSeconds: 3600 })
  isId(res.token, 'token')
  assert.equal(typeof res.expiresAt, 'number')
  assert.ok(res.expiresAt > before + 3500_000 && res.expiresAt < Date.now() + 3700_000,
    `expiresAt ${res.expiresAt} is about an hour from now (${before}) in ms`)
  // The SDK's type: "id: The ID of the conversation".
  assert.equal(res.id, S.conv, 'session.create answers with the conversation id')
  S.token = res.token
  session = sdk({ secret: res.token })
})

await step('session client: send + receive', async () => {
  const sent = await session.conversation.send(S.conv, { text: 'Is the Starter plan cheaper?' })
  isId(sent.id, 'sent id')
  const got = await session.conversation.receive(S.conv)
  isId(got.id, 'received id')
  assert.match(got.text, /9 dollars/, `the answer quotes the pricing record: ${got.text}`)
})

await step('session client: complete', async () => {
  const res = await session.conversation.complete(S.conv, { text: 'How can I reset my password?' })
  assert.match(res.text, /Forgot password/)
  assert.equal(res.end?.reason, 'stop')
})

await step('session client: message.list and message.create (user)', async () => {
  const list = await session.conversation.message.list(S.conv, { take: 100 })
  assert.ok(list.items.some((m) => m.text === 'Is the Starter plan cheaper?'), 'the session sees its conversation')
  const res = await session.conversation.message.create(S.conv, { type: 'user', text: 'Sent by the end user.' })
  isId(res.id, 'created id')
  await rejects(session.conversation.message.create(S.conv, { type: 'bot', text: 'Pretending to be the bot.' }),
    'FORBIDDEN', 'a session token creating a bot message')
})

await step('session token refused elsewhere: conversation.fetch, bot.list, another conversation → FORBIDDEN', async () => {
  await rejects(session.conversation.fetch(S.conv), 'FORBIDDEN', 'session conversation.fetch')
  await rejects(session.bot.list(), 'FORBIDDEN', 'session bot.list')
  await rejects(session.conversation.complete(S.extraConvs[0], { text: 'Hello from elsewhere' }), 'FORBIDDEN',
    'session complete on another conversation')
})

await step('garbage session token → UNAUTHORIZED', async () => {
  const garbage = sdk({ secret: 'pcs_thisisnotatoken' })
  await rejects(garbage.conversation.send(S.conv, { text: 'hi' }), 'UNAUTHORIZED', 'garbage token send')
})

await step('conversation.session.create without a duration lasts an hour', async () => {
  const before = Date.now()
  const res = await client.conversation.session.create(S.conv, {})
  isId(res.token, 'token')
  assert.notEqual(res.token, S.token, 'a new token')
  assert.ok(res.expiresAt > before + 3500_000 && res.expiresAt < Date.now() + 3700_000, `expiresAt ${res.expiresAt} is about an hour from now`)
})

await step('session.create with durationInSeconds 60 → BAD_REQUEST', async () => {
  await rejects(client.conversation.session.create(S.conv, { durationInSeconds: 60 }), 'BAD_REQUEST', 'a 60 s session')
})

// 9. Stateless completion.

await step('conversation.complete(null, {backstory, model, datasetId, messages}) → text', async () => {
  const before = (await client.conversation.list({ take: 100 })).items.length
  const res = await client.conversation.complete(null, {
    backstory, model: 'local', datasetId: S.dataset,
    messages: [{ type: 'user', text: 'What is your refund policy?' }],
  })
  assert.match(res.text, /30 days/, `the stateless answer quotes the refund record: ${res.text}`)
  assert.ok(res.usage?.token > 0, 'usage.token > 0')
  assert.equal(res.end?.reason, 'stop')
  assert.equal((await client.conversation.list({ take: 100 })).items.length, before, 'nothing was stored')
})

await step('conversation.complete(null, {botId, messages}) → text (and streamed)', async () => {
  const messages = [
    { type: 'user', text: 'Hello' },
    { type: 'bot', text: 'Hello! How can I help you today?' },
    { type: 'user', text: 'How much is the Pro plan?' },
  ]
  const res = await client.conversation.complete(null, { botId: S.bot, messages })
  assert.match(res.text, /29 dollars/, `the bot's stateless answer: ${res.text}`)
  const events = await collect(client.conversation.complete(null, { botId: S.bot, messages }).stream())
  const last = events[events.length - 1]
  assert.equal(last?.type, 'result', `the stream ends with the result: ${inspect(events.slice(-3))}`)
  assert.equal(events.filter((e) => e.type === 'token').map((e) => e.data.token).join(''), last.data.text)
  assert.equal(last.data.text, res.text, 'streamed and plain answers agree')
})

// 10. Errors through the SDK.

await step('bot.fetch of an unknown id → NOT_FOUND', async () => {
  await rejects(client.bot.fetch(randomUUID()), 'NOT_FOUND', 'unknown bot')
})

await step('bot.create with an unknown datasetId → BAD_REQUEST, and no bot is created', async () => {
  const before = (await client.bot.list({ take: 100 })).items.length
  await rejects(client.bot.create({ name: 'Broken bot', model: 'local', datasetId: randomUUID() }), 'BAD_REQUEST', 'unknown datasetId')
  assert.equal((await client.bot.list({ take: 100 })).items.length, before, 'the bot count is unchanged')
})

await step("conversation.create with visibility 'nope' → BAD_REQUEST", async () => {
  await rejects(client.conversation.create({ botId: S.bot, visibility: 'nope' }), 'BAD_REQUEST', 'visibility nope')
})

await step("a wrong secret ('prl_wrong') → UNAUTHORIZED", async () => {
  await rejects(sdk({ secret: 'prl_wrong' }).bot.list(), 'UNAUTHORIZED', 'wrong secret')
})

await step('rate limit: the session token gets TOO_MANY_REQUESTS, then 429 with Retry-After', async () => {
  // retries: 0 so that the SDK returns the first 429 instead of retrying it.
  const limited = sdk({ secret: S.token, retries: 0 })
  let hit
  for (let i = 0; i < 100 && !hit; i++) {
    try {
      await limited.conversation.message.list(S.conv, { take: 1 })
    } catch (err) {
      assert.equal(err?.name, 'FetchError', inspect(err))
      assert.equal(err.code, 'TOO_MANY_REQUESTS', `request ${i + 1} failed with ${err.code}: ${err.message}`)
      hit = i + 1
    }
  }
  assert.ok(hit, 'no request was refused after 100 with PARLEY_SESSION_RATE=30')
  // Plain fetch: the SDK does not expose the status or headers of an error.
  const res = await fetch(new URL(`/api/v1/conversation/${S.conv}/message/list`, baseUrl), {
    headers: { Authorization: `Bearer ${S.token}` },
  })
  assert.equal(res.status, 429)
  const retryAfter = res.headers.get('retry-after')
  assert.match(retryAfter ?? '', /^\d+$/, `Retry-After is a number of seconds: ${retryAfter}`)
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter} within a minute`)
  const body = await res.json()
  assert.equal(body.code, 'TOO_MANY_REQUESTS')
  assert.equal(typeof body.message, 'string')
  console.log(`   (refused after ${hit} request(s); Retry-After: ${retryAfter})`)
})

// 11. Deletes.

await step('skillset.ability.delete → fetch NOT_FOUND', async () => {
  assert.equal((await client.skillset.ability.delete(S.skillset, S.ability)).id, S.ability)
  await rejects(client.skillset.ability.fetch(S.skillset, S.ability), 'NOT_FOUND', 'deleted ability')
})

await step('skillset.delete → fetch NOT_FOUND, the bot is detached', async () => {
  assert.equal((await client.skillset.delete(S.skillset)).id, S.skillset)
  await rejects(client.skillset.fetch(S.skillset), 'NOT_FOUND', 'deleted skillset')
  const b = await client.bot.fetch(S.bot)
  assert.ok(!b.skillsetId, `the bot no longer names the skillset: ${inspect(b)}`)
})

await step('dataset.record.delete → fetch NOT_FOUND', async () => {
  assert.equal((await client.dataset.record.delete(S.dataset, S.records.hours)).id, S.records.hours)
  await rejects(client.dataset.record.fetch(S.dataset, S.records.hours), 'NOT_FOUND', 'deleted record')
})

await step('dataset.delete → fetch NOT_FOUND, its records too, the bot is detached', async () => {
  assert.equal((await client.dataset.delete(S.dataset)).id, S.dataset)
  await rejects(client.dataset.fetch(S.dataset), 'NOT_FOUND', 'deleted dataset')
  await rejects(client.dataset.record.fetch(S.dataset, S.records.pricing), 'NOT_FOUND', 'record of a deleted dataset')
  const b = await client.bot.fetch(S.bot)
  assert.ok(!b.datasetId, `the bot no longer names the dataset: ${inspect(b)}`)
})

await step('bot.delete → fetch NOT_FOUND', async () => {
  assert.equal((await client.bot.delete(S.bot)).id, S.bot)
  await rejects(client.bot.fetch(S.bot), 'NOT_FOUND', 'deleted bot')
})

await step('conversation.delete → fetch NOT_FOUND, its messages and session token go too', async () => {
  assert.equal((await client.conversation.delete(S.conv)).id, S.conv)
  await rejects(client.conversation.fetch(S.conv), 'NOT_FOUND', 'deleted conversation')
  await rejects(client.conversation.message.fetch(S.conv, S.sent), 'NOT_FOUND', 'message of a deleted conversation')
  await rejects(sdk({ secret: S.token, retries: 0 }).conversation.message.list(S.conv), 'UNAUTHORIZED', 'session token of a deleted conversation')
})

console.log(`all ${stepNo} steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
console.log(`SDK calls exercised (${exercised.size}): ${[...exercised].sort().join(', ')}`)
