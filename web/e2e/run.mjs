// Browser flows of the console against a running stack, in Debian's Chromium through
// playwright-core (no browser download). Run by tests/e2e/test_console.py:
//   node e2e/run.mjs '{"base": "http://127.0.0.1:5000", "outDir": "/tmp/out", "flow": "studio", ...}'
// Prints one JSON line {"ok": true, ...outputs} and exits 0, or prints the error and exits 1.
// Every request that leaves 127.0.0.1 is aborted and fails the flow.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const cfg = JSON.parse(process.argv[2])
const { base, outDir, flow } = cfg
mkdirSync(outDir, { recursive: true })
const TIMEOUT = cfg.timeoutMs ?? 90_000
const external = []
const consoleErrors = []
const httpErrors = [] // API answers >= 400 and requests that failed, reported when a flow fails

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})

async function newContext(options = {}) {
  // reducedMotion: the console then turns antd's animations off (no click lands on a moving button)
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', reducedMotion: 'reduce',
    ...options })
  context.setDefaultTimeout(TIMEOUT)
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if (url.hostname === '127.0.0.1') return route.continue()
    external.push(route.request().url())
    return route.abort()
  })
  return context
}

async function newPage(context) {
  const page = await context.newPage()
  page.on('pageerror', (e) => consoleErrors.push(String(e)))
  page.on('response', (r) => {
    if (r.status() >= 400) httpErrors.push(`${r.request().method()} ${r.url()} → ${r.status()}`)
  })
  page.on('requestfailed', (r) => httpErrors.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`))
  return page
}

const shot = async (page, name) => {
  await page.waitForTimeout(400) // let modals and messages finish their animations
  await page.screenshot({ path: join(outDir, `${name}.png`), animations: 'disabled' })
}
const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`
const tid = (id) => `[data-testid="${id}"]`

async function register(page, name = 'Console user') {
  const email = `console-${unique()}@example.com`
  await page.goto(`${base}/console/login`)
  await page.getByRole('tab', { name: 'Register' }).click()
  const form = page.locator(tid('register-form'))
  await form.getByLabel('Name').fill(name)
  await form.getByLabel('E-mail').fill(email)
  await form.getByLabel('Password').fill('secret123')
  await form.getByRole('button', { name: 'Create account' }).click()
  await page.waitForURL('**/console/apps')
  return email
}

async function login(page, email, password) {
  await page.goto(`${base}/console/login`)
  const form = page.locator(tid('login-form'))
  await form.getByLabel('E-mail').fill(email)
  await form.getByLabel('Password').fill(password)
  await form.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL('**/console/apps')
}

async function createApp(page, name) {
  await page.goto(`${base}/console/apps`)
  await page.locator(tid('create-app')).click()
  const form = page.locator(tid('create-app-form'))
  await form.getByLabel('Name').fill(name)
  await form.getByLabel('Description').fill('made by the browser test')
  await page.getByRole('button', { name: 'Create', exact: true }).click()
  await page.waitForURL(/\/console\/apps\/[0-9a-f-]{36}$/)
  await page.locator(tid('prompt')).waitFor()
  return page.url().split('/').pop()
}

async function chooseOption(page, selectTestId, text) {
  await page.locator(tid(selectTestId)).click()
  await page.locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${text}"]`).click()
}

async function saveDraft(page) {
  await page.locator(tid('save-draft')).click()
  await page.getByText('Draft saved').first().waitFor()
}

/** Sends a message; resolves with the new turn's locator once it is streaming. */
async function send(page, text) {
  const before = await page.locator(tid('turn')).count()
  await page.locator(tid('chat-input')).fill(text)
  await page.locator(tid('chat-send')).click()
  const turn = page.locator(tid('turn')).nth(before)
  await turn.waitFor()
  return turn
}

async function settled(turn) {
  await turn.locator(':scope[data-status="done"], :scope[data-status="stopped"], :scope[data-status="error"]')
    .or(turn.locator('xpath=self::*[@data-status!="streaming"]')).first().waitFor({ timeout: TIMEOUT })
  return turn.getAttribute('data-status')
}

function assert(condition, message) {
  if (!condition) throw new Error(message)
}

/** Each path, opened at 375 px wide, must not scroll sideways; a screenshot of the last one. */
async function assertNarrow(page, paths, screenshot) {
  const saved = page.viewportSize()
  await page.setViewportSize({ width: 375, height: 800 })
  for (const path of paths) {
    await page.goto(`${base}${path}`)
    await page.waitForLoadState('networkidle')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert(width <= 376, `${path} is ${width} px wide at 375 px`)
  }
  await shot(page, screenshot)
  await page.setViewportSize(saved)
}

const flows = {
  /** register → create app → configure → a streamed answer → stop a second one → publish;
   * then the 375 px layout and an expired session. */
  async studio() {
    const context = await newContext()
    const page = await newPage(context)
    const email = await register(page)
    const appId = await createApp(page, 'Browser helper')
    await page.locator(tid('prompt')).fill('You are a friendly assistant. Answer briefly.')
    await page.locator(`${tid('param-max_tokens')} input, input${tid('param-max_tokens')}`).first().fill('400')
    await page.locator(`${tid('dialog-round')} input, input${tid('dialog-round')}`).first().fill('3')
    await page.locator(tid('memory-switch')).click()
    await saveDraft(page)

    const first = await send(page, 'What is the capital of France?')
    const seen = []
    for (let i = 0; i < 400 && (await first.getAttribute('data-status')) === 'streaming'; i++) {
      seen.push((await first.locator(tid('answer')).innerText()).length)
      await page.waitForTimeout(50)
    }
    assert((await first.getAttribute('data-status')) === 'done', `first answer ended ${await first.getAttribute('data-status')}`)
    const answer = await first.locator(tid('answer')).innerText()
    assert(answer.trim().length > 0, 'the first answer is empty')
    assert(new Set(seen.filter((n) => n > 0)).size > 1, `the answer did not grow token by token: ${seen.join(',')}`)
    await first.locator(tid('tokens')).waitFor()
    await first.locator(tid('latency')).waitFor()

    const second = await send(page, 'Write a very long story about a dragon who learns to cook, with ten chapters.')
    await second.locator(tid('answer')).filter({ hasNotText: /^…$/ }).waitFor()
    await page.locator(tid('chat-stop')).click()
    await second.locator(tid('stopped')).waitFor()
    const stoppedAnswer = await second.locator(tid('answer')).innerText()
    await shot(page, 'studio-debug-chat')

    await page.locator(tid('publish')).click()
    await page.locator(tid('app-status')).filter({ hasText: 'published' }).waitFor()
    await page.locator(tid('versions')).click()
    await page.locator(`${tid('version-list')} >> text=v1`).waitFor()
    await shot(page, 'studio-published')
    await page.keyboard.press('Escape')
    // roll back: a changed draft goes back to the published version 1
    await page.locator(tid('prompt')).fill('A changed prompt')
    await saveDraft(page)
    await page.locator(tid('versions')).click()
    await page.locator(tid('version-list')).getByRole('button', { name: 'Roll back' }).first().click()
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'OK' }).click()
    await page.getByText('Draft restored from version 1').first().waitFor()
    await page.waitForFunction((sel) => document.querySelector(sel)?.value.startsWith('You are a friendly assistant'),
      tid('prompt'))

    // tools (after publishing: the debug chat above stays a plain chat): the clock and the URL
    // fetcher from the picker; saving without allowed hosts is refused (422) with the error on
    // the card; the fetcher removed, the clock's timezone set, the saved draft binds the clock
    await page.locator(tid('add-tool')).click()
    await page.locator(tid('add-tool-time-current_time')).click()
    await page.locator(tid('add-tool-url_fetch-url_fetch')).click()
    await shot(page, 'studio-tool-picker')
    await page.locator(tid('tool-picker-done')).click()
    const toolItem = (name) => page.locator(`${tid('tool-item')}[data-tool="${name}"]`)
    const saveAnswer = () => page.waitForResponse((r) => r.url().endsWith(`/apps/${appId}/draft-app-config`)
      && r.request().method() === 'POST')
    let answered = saveAnswer()
    await page.locator(tid('save-draft')).click()
    assert((await answered).status() === 422, 'a URL fetcher without allowed hosts was saved')
    await toolItem('url_fetch/url_fetch').locator(tid('tool-error')).filter({ hasText: 'Allowed hosts: required' }).waitFor()
    await page.locator(tid('tools-card')).scrollIntoViewIfNeeded()
    await shot(page, 'studio-tools-error')
    await toolItem('url_fetch/url_fetch').locator(tid('tool-remove')).click()
    await toolItem('time/current_time').locator(tid('tool-param-default_timezone')).fill('Europe/Paris')
    answered = saveAnswer()
    await page.locator(tid('save-draft')).click()
    assert((await answered).status() === 200, 'the draft with the clock was not saved')
    const tools = await page.evaluate(async (id) => {
      const { access_token: token } = JSON.parse(localStorage.getItem('llmops.session'))
      const r = await fetch(`/apps/${id}/draft-app-config`, { headers: { Authorization: `Bearer ${token}` } })
      return (await r.json()).data.tools
    }, appId)
    assert(tools.length === 1 && tools[0].provider.id === 'time' && tools[0].tool.id === 'current_time'
      && tools[0].tool.params.default_timezone === 'Europe/Paris', `the saved draft's tools: ${JSON.stringify(tools)}`)
    await page.locator(tid('tools-card')).screenshot({ path: join(outDir, 'studio-tools-card.png'), animations: 'disabled' })

    await page.goto(`${base}/console/apps`)
    await page.locator(tid('app-card')).first().waitFor()
    await shot(page, 'studio-apps')
    await assertNarrow(page, ['/console/apps', '/console/api-tools', '/console/keys', '/console/usage', '/console/datasets',
      '/console/self-service', `/console/apps/${appId}`], 'studio-375px')

    await page.setViewportSize({ width: 375, height: 800 })
    await page.evaluate(() => localStorage.setItem('llmops.session', JSON.stringify({ access_token: 'expired.token.x' })))
    await page.goto(`${base}/console/apps`)
    await page.waitForURL(/\/console\/login\?expired=1/)
    await page.locator(tid('expired')).waitFor()
    const loginWidth = await page.evaluate(() => document.documentElement.scrollWidth)
    assert(loginWidth <= 376, `the sign-in page is ${loginWidth} px wide at 375 px`)
    await context.close()
    return { email, appId, answer, stoppedAnswer, tools }
  },

  /** API tools page: create one from the example schema with a masked header → bind its
   * operation in a new app's tools card → save; then delete it from the page. */
  async apitools() {
    const context = await newContext()
    const page = await newPage(context)
    const email = await register(page)
    await page.goto(`${base}/console/api-tools`)
    await page.getByText('No API tools yet').waitFor()
    await page.locator(tid('create-api-tool')).click()
    const form = page.locator(tid('create-api-tool-form'))
    await form.getByLabel('Name').fill('Dictionary')
    await form.getByLabel('Icon URL').fill(`${base}/builtin-tools/calculator/icon`)
    await form.getByRole('button', { name: 'Insert an example' }).click()
    await form.locator(tid('validate-schema')).click()
    await form.locator(tid('schema-check')).filter({ hasText: 'Valid: 1 tools (Suggest)' }).waitFor()
    await form.getByRole('button', { name: 'Add header' }).click()
    await form.getByPlaceholder('Header name').fill('Authorization')
    await form.getByPlaceholder('Value').fill(cfg.secret)
    await shot(page, 'api-tools-create')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    const row = page.locator(`${tid('api-tools-table')} tr`).filter({ hasText: 'Dictionary' })
    await row.getByText('Suggest').waitFor()
    const listed = await row.innerText()
    assert(listed.includes('Authorization') && !listed.includes(cfg.secret), `the header is not masked: ${listed}`)
    await shot(page, 'api-tools-list')

    const appId = await createApp(page, 'Dictionary helper')
    await page.locator(tid('add-tool')).click()
    await page.locator(tid('tool-picker')).getByRole('tab', { name: 'API tools' }).click()
    await page.locator(tid('add-tool-api-Suggest')).click()
    await page.locator(tid('tool-picker-done')).click()
    await page.locator(`${tid('tool-item')} >> text=Suggest`).waitFor()
    const answered = page.waitForResponse((r) => r.url().endsWith(`/apps/${appId}/draft-app-config`)
      && r.request().method() === 'POST')
    await page.locator(tid('save-draft')).click()
    assert((await answered).status() === 200, 'the draft with the API tool was not saved')
    await page.locator(tid('tools-card')).screenshot({ path: join(outDir, 'api-tool-bound.png'), animations: 'disabled' })
    const bound = await page.evaluate(async (id) => {
      const { access_token: token } = JSON.parse(localStorage.getItem('llmops.session'))
      const r = await fetch(`/apps/${id}/draft-app-config`, { headers: { Authorization: `Bearer ${token}` } })
      return (await r.json()).data.tools.map((t) => `${t.type}:${t.provider.name}/${t.tool.name}`)
    }, appId)

    await page.goto(`${base}/console/api-tools`)
    await page.locator(tid('delete-api-tool')).click()
    await page.locator('.ant-popconfirm').getByRole('button', { name: 'OK' }).click()
    await page.getByText('No API tools yet').waitFor()
    await context.close()
    return { email, appId, bound }
  },

  /** dataset → upload two files → progress to completed → hit test → bind → the answer shows sources. */
  async knowledge() {
    const context = await newContext()
    const page = await newPage(context)
    await register(page)
    await page.goto(`${base}/console/datasets`)
    await page.locator(tid('create-dataset')).click()
    await page.locator(tid('create-dataset-form')).getByLabel('Name').fill('Biology notes')
    const created = page.waitForResponse((r) => new URL(r.url()).pathname === '/datasets' && r.request().method() === 'POST')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    const answer = await created
    assert(answer.ok(), `creating the dataset answered ${answer.status()}: ${(await answer.text()).slice(0, 300)}`)
    await page.waitForURL(/\/console\/datasets\/[0-9a-f-]{36}$/)
    const datasetId = page.url().split('/').pop()
    await page.getByRole('tab', { name: 'Upload' }).click()
    await page.locator(`${tid('upload-wizard')} input[type=file]`).setInputFiles(cfg.files)
    await page.locator(`${tid('upload-next')}:not([disabled])`).click()
    await page.locator(tid('upload-start')).click()
    await page.locator(tid('progress-item')).first().waitFor()
    await page.locator(`${tid('progress-view')}[data-done="true"]`).waitFor({ timeout: 240_000 })
    const statuses = await page.locator(tid('progress-item')).evaluateAll((els) => els.map((e) => e.dataset.status))
    assert(statuses.length === cfg.files.length && statuses.every((s) => s === 'completed'), `statuses ${statuses}`)
    await shot(page, 'knowledge-progress')

    await page.getByRole('tab', { name: 'Hit test' }).click()
    await page.locator(tid('hit-query')).fill(cfg.hitQuery)
    await page.locator(tid('hit-strategy')).getByText('hybrid').click()
    await page.locator(tid('hit-run')).click()
    await page.locator(tid('hit')).first().waitFor()
    const top = await page.locator(tid('hit')).first().innerText()
    assert(top.includes(cfg.knownSentence), `the top hit lacks the known sentence: ${top.slice(0, 300)}`)
    await shot(page, 'knowledge-hit-test')

    await createApp(page, 'Biology tutor')
    await chooseOption(page, 'dataset-select', 'Biology notes')
    await page.keyboard.press('Escape')
    await page.locator(`${tid('param-max_tokens')} input, input${tid('param-max_tokens')}`).first().fill('48')
    await saveDraft(page)
    const turn = await send(page, cfg.hitQuery)
    await settled(turn)
    await turn.locator(tid('sources')).click()
    await turn.locator(tid('source')).first().waitFor()
    const sources = await turn.locator(tid('sources')).innerText()
    assert(sources.includes(cfg.knownSentence.slice(0, 40)) || sources.includes(cfg.fileNames[0]) || sources.includes(cfg.fileNames[1]),
      `the sources name no uploaded document: ${sources.slice(0, 300)}`)
    await shot(page, 'knowledge-answer-sources')
    const documentId = await page.evaluate(async (id) => {
      const { access_token: token } = JSON.parse(localStorage.getItem('llmops.session'))
      const r = await fetch(`/datasets/${id}/documents`, { headers: { Authorization: `Bearer ${token}` } })
      return (await r.json()).data.list[0].id
    }, datasetId)
    await assertNarrow(page, [`/console/datasets/${datasetId}`, `/console/datasets/${datasetId}/documents/${documentId}`],
      'knowledge-375px')
    await context.close()
    return { datasetId }
  },

  /** create a key with limits; the plain key is returned (the test uses it with the openai SDK). */
  async keys() {
    const context = await newContext()
    const page = await newPage(context)
    const email = await register(page)
    await page.goto(`${base}/console/keys`)
    await page.locator(tid('create-key')).click()
    const form = page.locator(tid('create-key-form'))
    await form.getByLabel('Remark').fill('sdk test')
    await form.getByLabel('RPM').fill('60')
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    const key = (await page.locator(tid('plain-key')).innerText()).trim()
    assert(key.startsWith('sk-'), `no plain key shown: ${key}`)
    await shot(page, 'keys-created')
    await page.locator(tid('key-done')).click()
    await page.locator(`${tid('keys-table')} >> text=sdk test`).waitFor()
    assert(!(await page.locator(tid('keys-table')).innerText()).includes(key), 'the plain key is still listed')
    await context.storageState({ path: join(outDir, 'keys-state.json') })
    await context.close()
    return { email, key }
  },

  /** (after keys + an SDK call) the usage chart and the request log show the request. */
  async usage() {
    const context = await newContext({ storageState: join(outDir, 'keys-state.json') })
    const page = await newPage(context)
    let total = 0
    for (let i = 0; i < 30 && total < cfg.expectRequests; i++) {
      await page.goto(`${base}/console/usage`)
      await page.locator(`${tid('chart-requests')}`).waitFor()
      await page.waitForLoadState('networkidle')
      total = Number((await page.locator(tid('total-requests')).innerText()).replace(/\D/g, ''))
      if (total < cfg.expectRequests) await page.waitForTimeout(1000)
    }
    assert(total >= cfg.expectRequests, `the usage page shows ${total} requests`)
    const values = (await page.locator(tid('chart-requests')).getAttribute('data-values')).split(',').map(Number)
    assert(values[values.length - 1] >= cfg.expectRequests, `today's bar is ${values[values.length - 1]}`)
    await page.locator(`${tid('request-log')} >> text=${cfg.model}`).first().waitFor()
    await shot(page, 'usage-chart')
    await context.close()
    return { total, values }
  },

  /** seed 004's page: paste a key, redeem a CLI-made code once (the second try is refused). */
  async selfservice() {
    const context = await newContext()
    const page = await newPage(context)
    await page.goto(`${base}/console/self-service`)
    await page.locator(tid('ss-key')).fill(cfg.key)
    await page.locator(tid('ss-check')).click()
    const limit = async () => Number((await page.locator(tid('ss-limit')).innerText()).replace(/[^0-9.]/g, ''))
    await page.locator(tid('ss-limit')).waitFor()
    const before = await limit()
    await page.locator(tid('ss-prices')).getByText(cfg.model).first().waitFor()
    await page.locator(tid('ss-code')).fill(cfg.code)
    await page.locator(tid('ss-redeem')).click()
    await page.getByText(/Redeemed: \$/).waitFor()
    await page.waitForFunction(([sel, b]) => Number(document.querySelector(sel)?.textContent?.replace(/[^0-9.]/g, '')) > b,
      [tid('ss-limit'), before])
    const after = await limit()
    await page.locator(tid('ss-code')).fill(cfg.code)
    await page.locator(tid('ss-redeem')).click()
    await page.getByText('The code is invalid or has already been used').first().waitFor()
    await page.waitForTimeout(500)
    const again = await limit()
    assert(again === after, `a second redeem changed the limit: ${after} → ${again}`)
    await page.locator(tid('language')).getByText('中文').click()
    await page.getByText('兑换').first().waitFor()
    await shot(page, 'selfservice-redeemed')
    await context.close()
    return { before, after }
  },

  /** an admin switches the active language model; a new app starts on it; switched back. */
  async admin() {
    const context = await newContext()
    const page = await newPage(context)
    await login(page, cfg.email, cfg.password)
    await page.goto(`${base}/console/admin`)
    await page.locator(tid('accounts-table')).waitFor()
    await page.getByRole('tab', { name: 'Health' }).click()
    await page.locator(tid('health-status')).waitFor()
    await page.getByRole('tab', { name: 'Models' }).click()
    await chooseOption(page, 'choose-language', cfg.model)
    await page.locator(tid('switch-language')).click()
    await page.locator(tid('active-language-value')).filter({ hasText: cfg.model }).waitFor()
    await shot(page, 'admin-active-model')
    await createApp(page, 'Starts on the new model')
    const shown = await page.locator(tid('model-select')).innerText()
    assert(shown.includes(cfg.model.split('/')[1]), `the new app's model is ${shown}`)
    await shot(page, 'admin-new-app-model')
    await page.goto(`${base}/console/admin`)
    await page.getByRole('tab', { name: 'Models' }).click()
    await chooseOption(page, 'choose-language', cfg.restoreModel)
    await page.locator(tid('switch-language')).click()
    await page.locator(tid('active-language-value')).filter({ hasText: cfg.restoreModel }).waitFor()
    await assertNarrow(page, ['/console/admin'], 'admin-375px')
    await context.close()
    return { shown }
  },
}

let code = 0
try {
  const result = await flows[flow]()
  if (external.length) throw new Error(`requests left 127.0.0.1: ${external.join(', ')}`)
  console.log(JSON.stringify({ ok: true, flow, external, pageErrors: consoleErrors, ...result }))
} catch (error) {
  code = 1
  for (const context of browser.contexts()) {
    for (const page of context.pages()) await page.screenshot({ path: join(outDir, `${flow}-failure.png`) }).catch(() => {})
  }
  console.log(JSON.stringify({ ok: false, flow, error: String(error?.stack ?? error), external, pageErrors: consoleErrors,
    httpErrors: httpErrors.slice(-20) }))
} finally {
  await browser.close()
}
process.exit(code)
