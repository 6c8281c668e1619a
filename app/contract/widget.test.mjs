// SDK contract test for the web chat widget integration: drives
// integration/widget/{create,list,fetch,update,delete,setup} with the
// official @chatbotkit/sdk client, then the widget's own session flow
// (POST /widget/{id}/session from an allowed Origin) and the streamed API
// call the widget makes with its token. Run by app/contract_test.go after
// sdk.test.mjs, or by hand:
//
//	PARLEY_URL=http://127.0.0.1:8080 PARLEY_SECRET=prl_… node app/contract/widget.test.mjs
//
// Plain fetch is used for the widget's public endpoints, which the SDK does
// not cover (they are what the widget's script calls, not an app).

import assert from 'node:assert/strict'
import { inspect } from 'node:util'

import { ChatBotKit } from '@chatbotkit/sdk'

const baseUrl = process.env.PARLEY_URL
const secret = process.env.PARLEY_SECRET
if (!baseUrl || !secret) {
  console.error('FAIL setup: set PARLEY_URL and PARLEY_SECRET')
  process.exit(2)
}
const client = new ChatBotKit({ baseUrl, secret })
const widgets = client.integration.widget

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
  try {
    const v = await call
    assert.fail(`${what}: want FetchError ${code}, got ${inspect(v)}`)
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    assert.equal(err?.name, 'FetchError', `${what}: ${inspect(err)}`)
    assert.equal(err.code, code, `${what}: code (message: ${err.message})`)
  }
}

const site = 'https://shop.example.com'
let botId, widgetId, identitySecret

await step('a bot for the widget', async () => {
  const ds = await client.dataset.create({ name: 'Widget FAQ' })
  await client.dataset.record.create(ds.id, { text: 'Shipping to Canada takes 5 business days.' })
  botId = (await client.bot.create({ name: 'Widget bot', model: 'local', backstory: 'You help shoppers.', datasetId: ds.id })).id
})

await step('integration.widget.create with ChatBotKit fields', async () => {
  const res = await widgets.create({
    name: 'Shop widget', botId, title: 'Shop help', intro: 'Ask us anything.', initial: 'Hi! How can I help?',
    placeholder: 'Your question', theme: 'dark', layout: 'bubble', origin: 'HTTPS://Shop.Example.com:443/\nhttps://*.example.org',
    sessionDuration: 3600000, language: 'en', stream: true, contactCollection: false, exportConversation: true,
    restartConversation: true, poweredBy: true,
  })
  assert.equal(typeof res.id, 'string')
  widgetId = res.id
  identitySecret = res.identitySecret
  assert.ok(identitySecret?.startsWith('wids_'), `identitySecret returned once: ${inspect(res)}`)
})

await step('integration.widget.fetch shows the settings, origins normalised, no secret', async () => {
  const w = await widgets.fetch(widgetId)
  assert.equal(w.id, widgetId)
  assert.equal(w.botId, botId)
  assert.equal(w.title, 'Shop help')
  assert.equal(w.initial, 'Hi! How can I help?')
  assert.equal(w.theme, 'dark')
  assert.equal(w.origin, 'https://shop.example.com\nhttps://*.example.org')
  assert.equal(w.sessionDuration, 3600000)
  assert.equal(w.exportConversation, true)
  assert.equal(w.poweredBy, true)
  assert.equal(typeof w.createdAt, 'number')
  assert.ok(!JSON.stringify(w).includes(identitySecret), 'fetch never shows the identity secret')
})

await step('integration.widget.update keeps absent fields; bad input is refused and changes nothing', async () => {
  await widgets.update(widgetId, { theme: 'light', placeholder: 'Ask away' })
  let w = await widgets.fetch(widgetId)
  assert.equal(w.theme, 'light')
  assert.equal(w.placeholder, 'Ask away')
  assert.equal(w.title, 'Shop help')
  await rejects(widgets.update(widgetId, { origin: 'shop.example.com' }), 'BAD_REQUEST', 'an origin without a scheme')
  await rejects(widgets.update(widgetId, { theme: 'pink' }), 'BAD_REQUEST', 'an unknown theme')
  await rejects(widgets.create({ botId, origin: 'https://*.com' }), 'BAD_REQUEST', 'a wildcard on a TLD')
  w = await widgets.fetch(widgetId)
  assert.equal(w.origin, 'https://shop.example.com\nhttps://*.example.org')
})

await step('integration.widget.list finds it', async () => {
  const res = await widgets.list()
  assert.ok(res.items.some((w) => w.id === widgetId), `list: ${inspect(res)}`)
})

await step('integration.widget.setup answers the script to embed', async () => {
  const res = await widgets.setup(widgetId)
  assert.equal(res.id, widgetId)
  assert.ok(res.script.endsWith(`/widget/${widgetId}.js`), inspect(res))
  const js = await fetch(res.script)
  assert.equal(js.status, 200)
  assert.ok(js.headers.get('etag'))
})

let session
await step('the widget session: allowed origin gets a token (CORS for it), another is refused', async () => {
  const call = (origin) => fetch(`${baseUrl}/widget/${widgetId}/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Origin: origin }, body: JSON.stringify({ fingerprint: 'contract_fp_0123456789' }),
  })
  const ok = await call(site)
  assert.equal(ok.status, 200)
  assert.equal(ok.headers.get('access-control-allow-origin'), site)
  session = await ok.json()
  assert.ok(session.token.startsWith('pcs_'))
  const bad = await call('https://evil-example.com')
  assert.equal(bad.status, 403)
  assert.equal(bad.headers.get('access-control-allow-origin'), null)
})

await step('with its token the SDK streams an answer that quotes the dataset', async () => {
  const end = new ChatBotKit({ baseUrl, secret: session.token })
  let text = ''
  let tokens = 0
  for await (const ev of end.conversation.complete(session.conversationId, { text: 'How long is shipping to Canada?' }).stream()) {
    if (ev.type === 'token') tokens++
    if (ev.type === 'result') text = ev.data.text
  }
  assert.ok(tokens > 0, 'tokens streamed')
  assert.match(text, /5 business days/)
  const list = await end.conversation.message.list(session.conversationId)
  assert.ok(list.items.some((m) => m.type === 'user' && m.text === 'How long is shipping to Canada?'))
})

await step('integration.widget.delete ends its tokens; fetch is then 404', async () => {
  await widgets.delete(widgetId)
  await rejects(widgets.fetch(widgetId), 'NOT_FOUND', 'fetch after delete')
  const end = new ChatBotKit({ baseUrl, secret: session.token })
  await rejects(end.conversation.message.list(session.conversationId), 'UNAUTHORIZED', 'the deleted widget\'s token')
})
