// SDK contract test for channels: @chatbotkit/sdk's integration.telegram and
// contact clients against Parley, then Parley's generic webhook integration
// (an extension the SDK has no client for, so plain fetch) end to end: a
// signed event makes a contact and a conversation the SDK then lists.
//
// Run by app/contract_test.go (TestSDKContract) after sdk.test.mjs, against
// a server started with PARLEY_SECRET_KEY, PARLEY_PUBLIC_URL and
// PARLEY_TELEGRAM_API_URL pointing at the fake Bot API (telegramtest), whose
// URL this script reads from the same variable to check what setup did. By
// hand:
//
//	PARLEY_URL=… PARLEY_SECRET=prl_… PARLEY_TELEGRAM_API_URL=… node app/contract/integrations.test.mjs
//
// Each passed step prints one "ok" line; the first failure prints what was
// expected and what came back, and exits with status 1.

import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { inspect } from 'node:util'

import { ChatBotKit } from '@chatbotkit/sdk'

const baseUrl = process.env.PARLEY_URL
const secret = process.env.PARLEY_SECRET
const telegramUrl = process.env.PARLEY_TELEGRAM_API_URL
if (!baseUrl || !secret || !telegramUrl) {
  console.error('FAIL setup: set PARLEY_URL, PARLEY_SECRET and PARLEY_TELEGRAM_API_URL (the fake Bot API the server uses)')
  process.exit(2)
}

const client = new ChatBotKit({ baseUrl, secret })
const started = Date.now()
let stepNo = 0

async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
  } catch (err) {
    console.error(`FAIL step ${stepNo + 1}: ${name}`)
    console.error(err instanceof assert.AssertionError ? err.message : inspect(err, { depth: 6 }))
    process.exit(1)
  }
  stepNo++
  console.log(`ok ${String(stepNo).padStart(2)} - ${name} (${Date.now() - t0} ms)`)
}

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

function isMs(t, what) {
  assert.equal(typeof t, 'number', `${what} is a number`)
  assert.ok(t > started - 10 * 60_000 && t < Date.now() + 10 * 60_000, `${what} = ${t} is not a time in ms around now`)
}

// api calls Parley's extensions, which the SDK has no method for.
async function api(path, body) {
  const res = await fetch(new URL(`/api/v1${path}`, baseUrl), {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

const token = '123456789:AAE_contract-token-0123456789abcdef'
const S = {}

await step('bot.create (the bot the integrations answer with)', async () => {
  S.bot = (await client.bot.create({ name: 'Channel helper', backstory: 'You help over Telegram.', model: 'local' })).id
})

await step('integration.telegram.create with an unknown botId → BAD_REQUEST naming it, nothing made', async () => {
  const bad = randomUUID()
  const err = await rejects(client.integration.telegram.create({ botId: bad, botToken: token }), 'BAD_REQUEST', 'unknown bot')
  assert.match(err.message, /bot/i)
  assert.equal((await client.integration.telegram.list()).items.length, 0)
})

await step('integration.telegram.create → id; fetch shows the settings and never the token', async () => {
  S.tg = (await client.integration.telegram.create({
    name: 'Support on Telegram', description: 'Our public bot', botId: S.bot, botToken: token,
    contactCollection: true, sessionDuration: 86_400_000, allowFrom: '@ann, 42', meta: { team: 'support' },
  })).id
  const it = await client.integration.telegram.fetch(S.tg)
  assert.equal(it.id, S.tg)
  assert.equal(it.name, 'Support on Telegram')
  assert.equal(it.botId, S.bot)
  assert.equal(it.contactCollection, true)
  assert.equal(it.sessionDuration, 86_400_000)
  assert.equal(it.allowFrom, '@ann, 42')
  assert.deepEqual(it.meta, { team: 'support' })
  isMs(it.createdAt, 'createdAt')
  assert.ok(!JSON.stringify(it).includes('AAE_contract'), `the token leaked: ${inspect(it)}`)
  assert.equal(it.botToken, undefined)
})

await step('integration.telegram.update changes allowFrom, keeps the rest', async () => {
  assert.equal((await client.integration.telegram.update(S.tg, { allowFrom: '' })).id, S.tg)
  const it = await client.integration.telegram.fetch(S.tg)
  assert.equal(it.allowFrom, '')
  assert.equal(it.name, 'Support on Telegram')
  assert.equal(it.sessionDuration, 86_400_000)
})

await step('integration.telegram.setup → getMe and setWebhook on the fake Bot API', async () => {
  assert.equal((await client.integration.telegram.setup(S.tg)).id, S.tg)
  const it = await client.integration.telegram.fetch(S.tg)
  assert.equal(it.username, 'ParleyTestBot')
  assert.equal(it.webhookUrl, `https://parley.test/channels/telegram/${S.tg}`)
  const info = await (await fetch(`${telegramUrl}/bot${token}/getWebhookInfo`)).json()
  assert.equal(info.result?.url, `https://parley.test/channels/telegram/${S.tg}`, inspect(info))
})

await step('integration.telegram.list pages with take/cursor', async () => {
  S.tg2 = (await client.integration.telegram.create({ name: 'Second', botId: S.bot, botToken: token })).id
  const first = await client.integration.telegram.list({ take: 1 })
  assert.equal(first.items.length, 1)
  const second = await client.integration.telegram.list({ take: 1, cursor: first.cursor })
  assert.equal(second.items.length, 1)
  assert.deepEqual(new Set([first.items[0].id, second.items[0].id]), new Set([S.tg, S.tg2]))
})

await step('integration.telegram.delete → fetch NOT_FOUND', async () => {
  assert.equal((await client.integration.telegram.delete(S.tg2)).id, S.tg2)
  await rejects(client.integration.telegram.fetch(S.tg2), 'NOT_FOUND', 'deleted integration')
})

await step('contact.ensure twice with one fingerprint → the same id', async () => {
  const fp = `contract:${randomUUID()}`
  const a = await client.contact.ensure({ fingerprint: fp, name: 'Ann' })
  const b = await client.contact.ensure({ fingerprint: fp, nick: 'ann' })
  assert.equal(a.id, b.id)
  S.contact = a.id
  const c = await client.contact.fetch(S.contact)
  assert.equal(c.fingerprint, fp)
  assert.equal(c.name, 'Ann')
  assert.equal(c.nick, 'ann')
})

await step('contact.create, update, list', async () => {
  S.contact2 = (await client.contact.create({ name: 'Bob', email: 'bob@example.com' })).id
  await client.contact.update(S.contact2, { phone: '+44 20 7946 0000' })
  const c = await client.contact.fetch(S.contact2)
  assert.equal(c.phone, '+44 20 7946 0000')
  assert.equal(c.email, 'bob@example.com')
  assert.ok(c.fingerprint, 'a contact made without a fingerprint gets one')
  const ids = (await client.contact.list({ take: 100 })).items.map((x) => x.id)
  assert.ok(ids.includes(S.contact) && ids.includes(S.contact2), inspect(ids))
  await rejects(client.contact.create({ fingerprint: c.fingerprint }), 'BAD_REQUEST', 'taken fingerprint')
})

await step('integration/webhook/create (extension) → a signing secret, shown once', async () => {
  const res = await api('/integration/webhook/create', { name: 'Shop', botId: S.bot })
  assert.equal(res.status, 200, inspect(res.body))
  assert.match(res.body.signingSecret, /^whsec_/)
  S.wh = res.body.id
  S.whSecret = res.body.signingSecret
  const got = await api(`/integration/webhook/${S.wh}/fetch`)
  assert.equal(got.status, 200)
  assert.ok(!JSON.stringify(got.body).includes(S.whSecret), `the secret leaked: ${inspect(got.body)}`)
})

await step('a signed webhook event (?wait=1) → the reply; its contact and conversation show in contact.conversation.list', async () => {
  const fp = `shop:${randomUUID()}`
  const body = JSON.stringify({ eventId: randomUUID(), conversationId: 'order-7', contact: { fingerprint: fp, name: 'Cleo' }, text: 'Hello there' })
  const ts = Math.floor(Date.now() / 1000)
  const sig = createHmac('sha256', S.whSecret).update(`${ts}.${body}`).digest('hex')
  const res = await fetch(new URL(`/channels/webhook/${S.wh}?wait=1`, baseUrl), {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Parley-Signature': `t=${ts},v1=${sig}` }, body,
  })
  const receipt = await res.json()
  assert.equal(res.status, 200, inspect(receipt))
  assert.ok(receipt.reply?.text, `a reply: ${inspect(receipt)}`)
  const ensured = await client.contact.ensure({ fingerprint: fp })
  const convs = await client.contact.conversation.list(ensured.id)
  assert.equal(convs.items.length, 1, inspect(convs))
  assert.equal(convs.items[0].id, receipt.reply.parleyConversationId)
  assert.equal(convs.items[0].contactId, ensured.id)
})

await step('contact.delete → fetch NOT_FOUND; its conversations stay', async () => {
  assert.equal((await client.contact.delete(S.contact2)).id, S.contact2)
  await rejects(client.contact.fetch(S.contact2), 'NOT_FOUND', 'deleted contact')
  await rejects(client.contact.conversation.list(S.contact2), 'NOT_FOUND', 'conversations of a deleted contact')
})

console.log(`all ${stepNo} steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
