// The customer console in a real browser (TestConsoleInABrowser in cmd/demo runs this script).
//
// Playwright (playwright-core, no browser download of its own) drives Debian's chromium headless
// against the real backend on 127.0.0.1 (moto behind it), and the engineer uses the real supportctl.
// Every console page the flows land on is checked with axe-core (a serious or critical violation
// fails the run) and saved as a full-page screenshot in $ARTIFACTS (make screenshots copies them
// into docs/console/).
//
// The Go test sets the environment: CONSOLE_URL, SUPPORT_API_URL, OIDC_ISSUER, OIDC_CLIENT_ID,
// SUPPORTCTL (the built CLI), CONTROL_URL (the test's control endpoint: browser_test.go,
// startControl), CHROMIUM, ARTIFACTS, PEOPLE (the users file as JSON), TENANT, ACCOUNT,
// SECOND_ACCOUNT, OTHER_TENANT, OTHER_ACCOUNT, SUPPORT_ROLE_ARN, VENDOR.
//
// The console's Content-Security-Policy allows no script at all, and the test does not relax it:
// axe is injected with page.evaluate (the DevTools protocol, which the page's policy does not
// govern); page.addScriptTag would be refused.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = Object.fromEntries(['CONSOLE_URL', 'SUPPORT_API_URL', 'OIDC_ISSUER', 'OIDC_CLIENT_ID', 'SUPPORTCTL', 'CONTROL_URL',
  'CHROMIUM', 'ARTIFACTS', 'PEOPLE', 'TENANT', 'ACCOUNT', 'SECOND_ACCOUNT', 'OTHER_TENANT', 'OTHER_ACCOUNT', 'SUPPORT_ROLE_ARN',
  'PENDING_ACCOUNT', 'GATEWAY_ACCOUNT', 'LATE_ACCOUNT',
  'VENDOR'].map((name) => {
  if (!process.env[name]) {
    console.error(`console.mjs: ${name} is not set: run it through TestConsoleInABrowser (go test -run TestConsoleInABrowser ./cmd/demo)`);
    process.exit(2);
  }
  return [name, process.env[name]];
}));
const people = JSON.parse(env.PEOPLE);
const consoleOrigin = new URL(env.CONSOLE_URL).origin;
const issuerOrigin = new URL(env.OIDC_ISSUER).origin;
const VIEWPORT = { width: 1280, height: 800 };
// the people's time zone: half an hour off any whole-hour zone, so a time shown in UTC, or in the
// server's zone, cannot pass for it
const TIME_ZONE = 'Asia/Kolkata';
const ACTION_TIMEOUT = 15_000; // one click, fill or navigation
const STEP_TIMEOUT = 60_000; // one step of the story
const CLI_TIMEOUT = 60_000; // one supportctl command (credentials wait on KMS and STS)
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const principal = (user) => `tenant:${env.TENANT}/${people[user].email}`;
const supportRoleName = env.SUPPORT_ROLE_ARN.split('/').pop();

// ---------------------------------------------------------------------------------------------
// Accessibility and screenshots

/** Every page checked: its name, URL and axe's violations (all impacts; serious and critical fail). */
const checked = [];
/** What went wrong loading console pages (a stylesheet the policy refused, say): each fails. */
const browserErrors = [];

/** axePage runs axe-core on the page as it is now, and records what it found under label. */
async function axePage(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  const ran = new Set([...result.passes, ...result.incomplete, ...result.violations].map((r) => r.id));
  for (const rule of ['document-title', 'html-has-lang', 'color-contrast', 'landmark-one-main']) {
    assert.ok(ran.has(rule), `${label}: axe did not evaluate ${rule} (it evaluated ${[...ran].join(', ')})`);
  }
  checked.push({
    name: label,
    url: page.url(),
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
    })),
  });
}

const screenshots = new Set();

/** check saves the page's screenshot as <name>.png, and runs axe-core on it as it is now (a form
 * filled in, a notice shown). */
async function check(page, name, { mask = [] } = {}) {
  assert.ok(!screenshots.has(name), `a second screenshot named ${name}`);
  screenshots.add(name);
  await axePage(page, name);
  await page.screenshot({ path: join(env.ARTIFACTS, `${name}.png`), fullPage: true, animations: 'disabled', mask });
}

/** landed runs axe-core on every console page a navigation lands on: no page of the console the
 * suite visits goes unchecked. */
async function landed(page) {
  if (page.url().startsWith(env.CONSOLE_URL)) await axePage(page, `${page.__who} ${new URL(page.url()).pathname}`);
}

/** accessibilityReport prints what axe found, each rule once with the elements and the pages it
 * found them on, and returns how many of the findings are serious or critical. */
function accessibilityReport() {
  writeFileSync(join(env.ARTIFACTS, 'axe.json'), JSON.stringify(checked, null, 2));
  const rules = new Map(); // rule id → { violation, nodes: Map(target|html → { node, pages: Set }) }
  for (const c of checked) {
    for (const v of c.violations) {
      if (!rules.has(v.id)) rules.set(v.id, { v, nodes: new Map() });
      for (const n of v.nodes) {
        const key = `${n.target}\n${n.html}`;
        const seen = rules.get(v.id).nodes;
        if (!seen.has(key)) seen.set(key, { n, pages: new Set() });
        seen.get(key).pages.add(`${c.name} (${new URL(c.url).pathname})`);
      }
    }
  }
  let serious = 0;
  let other = 0;
  const lines = [];
  for (const { v, nodes } of rules.values()) {
    const fails = v.impact === 'serious' || v.impact === 'critical';
    if (fails) serious += nodes.size; else other += nodes.size;
    lines.push(`  ${fails ? 'FAIL' : 'note'} ${v.id} [${v.impact}]: ${v.help}`, `       ${v.helpUrl.replace(/\?.*$/, '')}`);
    for (const { n, pages } of nodes.values()) {
      lines.push(`       ${n.target}: ${n.html}`);
      for (const line of (n.summary ?? '').split('\n')) lines.push(`         ${line}`);
      lines.push(`         on: ${[...pages].join(', ')}`);
    }
  }
  const version = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('axe-core/package.json'), 'utf8')).version;
  console.log(`\naxe-core ${version}: ${checked.length} checks of ${new Set(checked.map((c) => new URL(c.url).pathname)).size} pages; ` +
    `${serious} serious or critical finding(s), ${other} other(s); screenshots: ${[...screenshots].join(', ')}`);
  if (lines.length) console.log(lines.join('\n'));
  return serious;
}

// ---------------------------------------------------------------------------------------------
// The browser, the CLI, the control endpoint

let browser;

/** person opens a browser context of its own (cookies, downloads) and a page in it. */
async function person(name) {
  const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true, locale: 'en-US', timezoneId: TIME_ZONE });
  context.setDefaultTimeout(ACTION_TIMEOUT);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT);
  const page = await context.newPage();
  page.__who = name;
  // what the page's policy refused, and any part of a console page that did not load (the page
  // itself may be an error page: its status is asserted where it is expected)
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) browserErrors.push(`${name} at ${page.url()}: ${m.text()}`);
  });
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.request().resourceType() === 'document' && u.origin === consoleOrigin && u.pathname.startsWith('/console/') &&
      !/^default-src 'none';/.test(r.headers()['content-security-policy'] ?? '')) {
      browserErrors.push(`${name}: ${r.url()} came without the console's Content-Security-Policy`);
    }
    if (r.request().resourceType() !== 'document' && u.origin === consoleOrigin && u.pathname !== '/favicon.ico' && r.status() >= 400) {
      browserErrors.push(`${name} at ${page.url()}: ${r.request().method()} ${r.url()} answered ${r.status()}`);
    }
  });
  page.on('requestfailed', (r) => {
    if (new URL(r.url()).origin === consoleOrigin && r.resourceType() !== 'document') {
      browserErrors.push(`${name} at ${page.url()}: ${r.url()} failed: ${r.failure()?.errorText}`);
    }
  });
  return { name, context, page };
}

/** navigate runs act (a click, a submit) and waits for the page it leads to; returns its response. */
async function navigate(page, act) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), act()]);
  await landed(page);
  return response;
}

/** submit clicks a form's button, as the person does, and asserts that the console took the form:
 * it answered the POST with status (a redirect: post/redirect/get), not with a refusal. */
async function submit(page, button, what, status = 303) {
  const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().startsWith(env.CONSOLE_URL));
  await navigate(page, () => button.click());
  const response = await posted;
  if (response.status() !== status) {
    const why = await page.getByTestId('error').innerText().catch(() => '(no error text)');
    assert.fail(`${what}: the console answered ${response.status()} to ${response.url()}, want ${status}: ${why}`);
  }
}

/** goto loads url and returns its response, asserting its status. */
async function goto(page, url, status = 200) {
  const response = await page.goto(url);
  assert.equal(response.status(), status, `GET ${url}`);
  await landed(page);
  return response;
}

/** post submits a form built in the page (so the browser sends it as a form of that page: its Origin,
 * Sec-Fetch-Site, cookies) to action with fields, and returns the response to the POST itself. */
async function post(page, action, fields) {
  const url = new URL(action, env.CONSOLE_URL).href;
  const posted = page.waitForResponse((r) => r.url() === url && r.request().method() === 'POST');
  await navigate(page, () => page.evaluate(({ url, fields }) => {
    const form = document.createElement('form');
    form.method = 'post';
    form.action = url;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    form.submit();
  }, { url, fields }));
  return posted;
}

/** signIn signs user in at the provider's form, as a person does: from the console's sign-in link,
 * or from start, a page of the console that sends a person who is not signed in to sign in. */
async function signIn(who, user, { password = people[user].password, start = env.CONSOLE_URL, landing = 'accounts' } = {}) {
  const { page } = who;
  await goto(page, start);
  if (start === env.CONSOLE_URL) await navigate(page, () => page.getByTestId('sign-in').click());
  assert.equal(new URL(page.url()).origin, issuerOrigin, 'sent to sign in at the OpenID Provider');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password ?? '');
  return navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click()).then((response) => {
    if (landing) assert.equal(page.url(), env.CONSOLE_URL + landing, `${user} lands on the ${landing} page`);
    return response;
  });
}

const cliHome = mkdtempSync(join(tmpdir(), 'console-browser-'));

/** supportctl runs the real CLI as user (a token cache of their own); resolves with its exit status
 * and output, whatever the status. */
function supportctl(user, args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    execFile(env.SUPPORTCTL, args, {
      timeout: CLI_TIMEOUT,
      env: { PATH: process.env.PATH, HOME: cliHome, SUPPORT_API_URL: env.SUPPORT_API_URL,
        SUPPORTCTL_TOKEN_FILE: join(cliHome, `${user}.json`), ...extraEnv },
    }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`supportctl ${args.join(' ')}: ${err.message}`));
      else resolve({ code: err ? err.code : 0, stdout, stderr, args: args.join(' ') });
    });
  });
}

/** ok asserts that a supportctl run exited 0, and returns its stdout as JSON. */
function ok(run) {
  assert.equal(run.code, 0, `supportctl ${run.args} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

async function login(user) {
  const run = await supportctl(user, ['login', '-issuer', env.OIDC_ISSUER, '-client-id', env.OIDC_CLIENT_ID, '-user', user],
    { SUPPORTCTL_PASSWORD: people[user].password ?? '' });
  assert.equal(run.code, 0, `supportctl login -user ${user}: ${run.stderr}`);
  assert.match(run.stdout, new RegExp(`^signed in as ${people[user].email} at `));
}

async function request(user, account, ticket, justification, duration) {
  const r = ok(await supportctl(user, ['broker', 'request', '-account', account, '-ticket', ticket,
    '-justification', justification, '-duration', duration]));
  assert.equal(r.state, 'PENDING', `${ticket}: a new request waits for the customer`);
  assert.equal(r.engineer, people[user].email);
  assert.equal(r.account, account);
  return r;
}

/** credentials runs supportctl broker credentials for request id as alice. */
const credentials = (id) => supportctl('alice', ['broker', 'credentials', '-id', id]);

/** show is the request as supportctl broker show prints it to alice. */
const show = async (id) => ok(await supportctl('alice', ['broker', 'show', '-id', id]));

async function control(path, body) {
  const response = await fetch(env.CONTROL_URL + path, body === undefined ? {} :
    { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  const text = await response.text();
  assert.equal(response.status, 200, `control ${path}: ${text}`);
  return JSON.parse(text);
}

/** unchanged runs act and asserts that it left the tables as they were, audit records apart. */
async function unchanged(what, act) {
  const before = await control('/state');
  await act();
  assert.deepEqual(await control('/state'), before, `${what} changed the tables`);
}

// ---------------------------------------------------------------------------------------------
// Reading the pages

const text = (locator) => locator.innerText().then((s) => s.replace(/\s+/g, ' ').trim());

/** utcText is an instant as the server writes it: UTC, to the minute. */
const utcText = (iso) => new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** shownTime asserts that the <time> in locator shows iso in the viewer's zone (console.js), with
 * the UTC time on hover (its title). */
async function shownTime(locator, iso, what) {
  const el = locator.locator('time').first();
  assert.equal(await el.getAttribute('datetime'), new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z'), `${what}: datetime`);
  assert.equal(await el.getAttribute('title'), utcText(iso), `${what}: UTC on hover`);
  const local = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', timeZone: TIME_ZONE }).format(new Date(iso));
  const shown = await text(el);
  assert.ok(shown.includes(local) && !shown.includes('UTC'), `${what}: ${shown} is not ${local} in ${TIME_ZONE}`);
}

/** The rows of the access log's table as the page shows them. */
function logRows(page) {
  return page.locator('[data-testid=event]').evaluateAll((rows) => rows.map((tr) => ({
    id: tr.dataset.event,
    type: tr.dataset.type,
    actor: tr.cells[2].textContent.trim(),
    account: tr.cells[3].textContent.trim(),
    engineer: tr.cells[4].textContent.trim(),
    requestId: tr.cells[5].textContent.trim(),
    ticket: tr.cells[6].textContent.trim(),
  })));
}

/** parseCSV reads RFC 4180 text (quoted fields, doubled quotes, line breaks in quotes). */
function parseCSV(s) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** download clicks the page's download link testid and returns the file's text, also kept as name. */
async function download(page, testid, name) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  assert.equal(await file.failure(), null, `${testid}: the download failed`);
  const path = join(env.ARTIFACTS, name);
  await file.saveAs(path);
  return { text: readFileSync(path, 'utf8'), filename: file.suggestedFilename() };
}

/** downloadsMatch asserts that the page's CSV and JSON-lines downloads hold its rows, in its order. */
async function downloadsMatch(page, rows, name) {
  const csv = await download(page, 'download-csv', `${name}.csv`);
  assert.match(csv.filename, /^access-log-\d{4}-\d{2}-\d{2}\.csv$/);
  const [header, ...records] = parseCSV(csv.text);
  for (const column of ['id', 'time', 'type', 'actor', 'account', 'engineer', 'request_id', 'ticket']) {
    assert.ok(header.includes(column), `the CSV's header ${header} has ${column}`);
  }
  const col = (r, c) => r[header.indexOf(c)];
  assert.deepEqual(records.map((r) => ({ id: col(r, 'id'), type: col(r, 'type'), account: col(r, 'account'),
    engineer: col(r, 'engineer'), requestId: col(r, 'request_id') })),
  rows.map(({ id, type, account, engineer, requestId }) => ({ id, type, account, engineer, requestId })),
  `${name}.csv holds the page's rows, in its order`);

  const jsonl = await download(page, 'download-jsonl', `${name}.jsonl`);
  assert.match(jsonl.filename, /^access-log-\d{4}-\d{2}-\d{2}\.jsonl$/);
  const events = jsonl.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => ({ id: e.id, type: e.type, account: e.account ?? '', engineer: e.engineer ?? '',
    requestId: e.requestId ?? '' })),
  rows.map(({ id, type, account, engineer, requestId }) => ({ id, type, account, engineer, requestId })),
  `${name}.jsonl holds the page's rows, in its order`);
}

/** leftSeconds reads "(1h 59m left)" as seconds. */
function leftSeconds(s) {
  const m = /\(([\dhmsd ]+) left\)/.exec(s);
  assert.ok(m, `a time left in ${JSON.stringify(s)}`);
  const unit = { d: 86400, h: 3600, m: 60, s: 1 };
  return m[1].trim().split(' ').reduce((n, part) => n + Number(part.slice(0, -1)) * unit[part.at(-1)], 0);
}

/** nothingOf asserts that the page shows nothing of acme's: no account, ticket, request or justification. */
async function nothingOf(page, secrets, where, { except = [] } = {}) {
  const html = await page.content();
  for (const s of secrets) {
    if (!except.includes(s)) assert.ok(!html.includes(s), `${where} shows ${JSON.stringify(s)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The story. Each step is a function; state passes through `s`.

const s = { requests: {} };
const justifications = {
  approved: 'EKS upgrade fails: node group stuck in UPDATING',
  dismissed: 'read CloudWatch alarms, "p99 latency", and metrics',
  revoked: 'look at the RDS parameter group',
  second: 'slow queries on the reporting database',
};
const dismissReason = 'Not this account: the alarms are in our second account, ask for that one.';
const revokeReason = 'The ticket is closed.';

/** axe finds violations on a page served with the console's own policy: injected with page.evaluate,
 * where a script tag is refused. A check that could not fail would prove nothing. */
async function axeUnderThePolicy() {
  const policy = (await fetch(env.CONSOLE_URL)).headers.get('content-security-policy');
  assert.match(policy, /^default-src 'none';/, 'the console\'s policy');
  const server = http.createServer((req, res) => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end('<!doctype html><html lang="en"><title>broken</title><main><h1>Broken</h1><img src="/x.png"><input type="text"></main></html>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await assert.rejects(page.addScriptTag({ content: 'window.injected = true' }), /Content Security Policy/,
      'the policy refuses a script tag');
    await page.evaluate(axeSource);
    const { violations } = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
    assert.deepEqual(violations.filter((v) => v.impact === 'critical').map((v) => v.id).sort(), ['image-alt', 'label'],
      'axe finds the missing alt text and label');
  } finally {
    await context.close();
    server.close();
  }
}

async function bobSignsIn() {
  s.bob = await person('bob');
  const { page } = s.bob;
  await goto(page, env.CONSOLE_URL);
  assert.equal(await text(page.locator('h1')), 'Sign in');
  await check(page, 'signin');
  await navigate(page, () => page.getByTestId('sign-in').click());
  assert.equal(new URL(page.url()).origin, issuerOrigin);
  await check(page, 'provider-signin');
  await page.getByLabel('Username').fill('bob');
  await page.getByLabel('Password').fill(people.bob.password);
  await navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click());
  assert.equal(page.url(), `${env.CONSOLE_URL}accounts`, 'signed in, bob lands on the accounts page');
  assert.equal(await text(page.getByTestId('signed-in-as')), people.bob.email);
  assert.equal(await text(page.getByTestId('tenant')), env.TENANT);
  assert.equal(await page.getByTestId('nav-accounts').getAttribute('aria-current'), 'page');
  for (const account of [env.ACCOUNT, env.SECOND_ACCOUNT]) {
    const row = page.locator(`[data-testid=account-row][data-account="${account}"]`);
    assert.equal(await row.getAttribute('data-status'), 'active', `account ${account}`);
    assert.equal(await text(row.getByTestId('account-status')), 'Active');
    assert.equal(await text(row.getByTestId('support-role')),
      env.SUPPORT_ROLE_ARN.replace(env.ACCOUNT, account), `account ${account}'s support role`);
  }
  const pending = page.locator(`[data-testid=account-row][data-account="${env.PENDING_ACCOUNT}"]`);
  assert.equal(await pending.getAttribute('data-status'), 'pending-onboarding', 'the account bob configures later');
  assert.equal(await page.getByTestId('account-row').count(), 3, 'acme has three accounts');
  await nothingOf(page, [env.OTHER_ACCOUNT, env.OTHER_TENANT], 'acme\'s accounts page');
  await check(page, 'accounts');
}

async function engineerSignsIn() {
  await login('alice');
  await login('carol'); // no password: the local provider signs her in with her username
}

async function approveInThePage() {
  const { page } = s.bob;
  const r = await request('alice', env.ACCOUNT, 'SUP-101', justifications.approved, '30m');
  s.requests.approved = r;
  await navigate(page, () => page.getByTestId('nav-requests').click());
  assert.equal(page.url(), `${env.CONSOLE_URL}requests`);
  const card = page.locator(`[data-testid=pending-request][data-request="${r.id}"]`);
  assert.equal(await text(card.locator('h3')), `${people.alice.email} asks for account ${env.ACCOUNT} (SUP-101)`);
  assert.equal(await text(card.getByTestId('ticket')), 'SUP-101');
  assert.equal(await text(card.getByTestId('justification')), justifications.approved);
  assert.equal(await text(card.getByTestId('duration')), '30m');
  const left = card.getByTestId('time-left');
  assert.equal(Date.parse(await left.locator('time').getAttribute('datetime')), Date.parse(r.pendingUntil),
    'the time it expires is the request\'s');
  const shown = leftSeconds(await text(left));
  const expected = (Date.parse(r.pendingUntil) - Date.now()) / 1000;
  assert.ok(Math.abs(shown - expected) <= 120, `time left ${shown}s, want about ${expected}s`);
  assert.equal(await text(card.getByTestId('approve')), 'Approve 30m of access');
  await check(page, 'requests');

  // its own page
  await navigate(page, () => card.getByRole('link', { name: people.alice.email }).click());
  assert.equal(page.url(), `${env.CONSOLE_URL}requests/${r.id}`);
  const detail = page.getByTestId('request');
  assert.equal(await detail.getAttribute('data-state'), 'PENDING');
  assert.equal(await text(detail.getByTestId('engineer')), people.alice.email);
  assert.equal(await text(detail.getByTestId('account')), env.ACCOUNT);
  assert.equal(await text(detail.getByTestId('ticket')), 'SUP-101');
  assert.equal(await text(detail.getByTestId('justification')), justifications.approved);
  await check(page, 'request');

  // approved from the list
  await navigate(page, () => page.getByTestId('nav-requests').click());
  await submit(page, card.getByTestId('approve'), 'approving on the requests page');
  assert.equal(page.url(), `${env.CONSOLE_URL}requests`, 'back to the list');
  const approved = await show(r.id);
  assert.equal(approved.state, 'APPROVED');
  assert.equal(approved.decidedBy, principal('bob'));
  const until = utcText(approved.accessUntil);
  assert.equal(await text(page.getByTestId('notice')),
    `Approved ${people.alice.email}'s request ${r.id} (ticket SUP-101) for account ${env.ACCOUNT}: access until ${until}.`);
  assert.equal(await card.count(), 0, 'no longer pending');
  const row = page.locator(`[data-testid=approved-request][data-request="${r.id}"]`);
  assert.match(await text(row), new RegExp(`^${r.id} ${people.alice.email} ${env.ACCOUNT} SUP-101 ${principal('bob')} .+ \\(\\d+m( \\d+s)? left\\)`));
  await shownTime(row.getByTestId('access-until'), approved.accessUntil, 'the access\'s end');
  await check(page, 'requests-approved');

  // alice's session, as the CLI prints it, and STS agrees
  const c = ok(await credentials(r.id));
  assert.equal(c.RoleArn, env.SUPPORT_ROLE_ARN, 'the support role of the request\'s account');
  assert.ok(c.SessionName.startsWith(`${people.alice.email}-SUP-101`), `session name ${c.SessionName}`);
  assert.ok(c.AccessKeyId && c.SecretAccessKey && c.SessionToken, 'a whole set of credentials');
  assert.ok(Date.parse(c.Expiration) > Date.now(), 'not expired');
  const who = await control('/caller-identity', c);
  assert.equal(who.Arn, `arn:aws:sts::${env.ACCOUNT}:assumed-role/${supportRoleName}/${c.SessionName}`);
  s.session = c.SessionName;
}

async function dismissInThePage() {
  const { page } = s.bob;
  const r = await request('alice', env.ACCOUNT, 'SUP-102', justifications.dismissed, '1h');
  s.requests.dismissed = r;
  await navigate(page, () => page.getByTestId('nav-requests').click());
  const card = page.locator(`[data-testid=pending-request][data-request="${r.id}"]`);
  assert.equal(await text(card.getByTestId('justification')), justifications.dismissed);
  assert.equal(await text(card.getByTestId('duration')), '1h');

  // the reason is required: the browser does not send the form without one
  await unchanged('dismissing without a reason', async () => {
    await card.getByTestId('dismiss').click();
    assert.equal(await card.getByTestId('dismiss-reason').evaluate((e) => e.validity.valueMissing), true);
    assert.equal(page.url(), `${env.CONSOLE_URL}requests`);
  });

  await card.getByTestId('dismiss-reason').fill(dismissReason);
  await submit(page, card.getByTestId('dismiss'), 'dismissing on the requests page');
  assert.equal(page.url(), `${env.CONSOLE_URL}requests`);
  assert.equal(await text(page.getByTestId('notice')),
    `Dismissed ${people.alice.email}'s request ${r.id} (ticket SUP-102) for account ${env.ACCOUNT}.`);
  assert.equal(await card.count(), 0, 'no longer pending');
  await check(page, 'requests-dismissed');

  const refused = await credentials(r.id);
  assert.notEqual(refused.code, 0, 'no credentials for a dismissed request');
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, new RegExp(`cannot get credentials for request ${r.id}: it was dismissed by ${principal('bob').replace(/[.]/g, '\\.')}`));
  const shown = await show(r.id);
  assert.equal(shown.state, 'DISMISSED');
  assert.equal(shown.decisionReason, dismissReason, 'alice reads the reason with supportctl broker show');
}

async function revokeInThePage() {
  const { page } = s.bob;
  const r = await request('alice', env.ACCOUNT, 'SUP-103', justifications.revoked, '45m');
  s.requests.revoked = r;
  await goto(page, `${env.CONSOLE_URL}requests/${r.id}`);
  await submit(page, page.getByTestId('approve'), 'approving on the request\'s page');
  assert.equal(page.url(), `${env.CONSOLE_URL}requests/${r.id}`, 'back to the request\'s page');
  const detail = page.getByTestId('request');
  assert.equal(await detail.getAttribute('data-state'), 'APPROVED');
  assert.match(await text(page.getByTestId('decided-by')), new RegExp(`^${principal('bob').replace(/[.]/g, '\\.')}, `));
  assert.match(await text(page.getByTestId('access-until')), /\(4[45]m( \d+s)? left\)$/);
  const decided = await show(r.id);
  await shownTime(page.getByTestId('decided-by'), decided.decidedAt, 'the decision');
  await shownTime(page.getByTestId('access-until'), decided.accessUntil, 'the access\'s end');
  // (ICU names the zone by its older, canonical name)
  assert.match(await text(page.locator('#time-zone')), /^Times are in your time zone \(Asia\/(Kolkata|Calcutta)\)/);
  assert.match(await text(page.getByTestId('notice')), new RegExp(`^Approved ${people.alice.email}'s request ${r.id} \\(ticket SUP-103\\)`));
  await check(page, 'request-approved');
  const before = ok(await credentials(r.id));
  assert.equal(before.RoleArn, env.SUPPORT_ROLE_ARN);

  await page.getByTestId('revoke-reason').fill(revokeReason);
  await submit(page, page.getByTestId('revoke'), 'revoking on the request\'s page');
  assert.equal(await detail.getAttribute('data-state'), 'REVOKED');
  assert.equal(await text(page.getByTestId('decision-reason')), revokeReason);
  assert.equal(await text(page.getByTestId('notice')),
    `Revoked ${people.alice.email}'s request ${r.id} (ticket SUP-103) for account ${env.ACCOUNT}: no new credentials from now on. ` +
    'A session already issued runs to its end.');
  assert.equal(await page.getByTestId('revoke').count(), 0, 'nothing more to do');
  await check(page, 'request-revoked');

  const refused = await credentials(r.id);
  assert.notEqual(refused.code, 0, 'no new credentials after the revocation');
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, new RegExp(`cannot get credentials for request ${r.id}: it was revoked by `));
  assert.equal((await show(r.id)).decisionReason, revokeReason);
}

async function secondAccountRequest() {
  // carol asks for acme's second account: the log's account and engineer filters have something to leave out
  s.requests.second = await request('carol', env.SECOND_ACCOUNT, 'SUP-104', justifications.second, '1h');
}

async function theLog() {
  const { page } = s.bob;
  const { approved, dismissed, revoked, second } = s.requests;
  await navigate(page, () => page.getByTestId('nav-log').click());
  assert.equal(page.url(), `${env.CONSOLE_URL}log`);
  const all = await logRows(page);
  assert.equal(all.length, 14, 'the four requests\' events');
  assert.equal(await text(page.locator('#log-caption')), '14 events');
  const of = (r) => all.filter((e) => e.requestId === r.id).map((e) => e.type);
  // newest first
  assert.deepEqual(of(approved), ['SESSION_ISSUED', 'TOKEN_MINTED', 'APPROVED', 'REQUESTED'], 'the approved request\'s events');
  assert.deepEqual(of(dismissed), ['REFUSED', 'DISMISSED', 'REQUESTED'], 'the dismissed request\'s events');
  assert.deepEqual(of(revoked), ['REFUSED', 'REVOKED', 'SESSION_ISSUED', 'TOKEN_MINTED', 'APPROVED', 'REQUESTED'],
    'the revoked request\'s events');
  assert.deepEqual(of(second), ['REQUESTED']);
  for (const e of all) {
    assert.ok([env.ACCOUNT, env.SECOND_ACCOUNT].includes(e.account), `event ${e.id} of account ${e.account}`);
  }
  const times = await page.locator('[data-testid=event] td:first-child time').evaluateAll((ts) => ts.map((t) => Date.parse(t.dateTime)));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
  assert.ok(Math.abs(times[0] - Date.now()) < 5 * 60_000, `the newest event is from the last minutes: ${new Date(times[0]).toISOString()}`);
  await check(page, 'log');
  await downloadsMatch(page, all, 'log');

  // the filters, through the form: each shows exactly the rows it selects, in the same order
  const filter = async ({ account = '', engineer = '', type = '' }) => {
    await page.getByTestId('filter-account').selectOption(account);
    await page.getByTestId('filter-engineer').fill(engineer);
    await page.getByTestId('filter-type').selectOption(type);
    await navigate(page, () => page.getByTestId('filter-apply').click());
    const url = new URL(page.url());
    assert.deepEqual([url.searchParams.get('account'), url.searchParams.get('engineer'), url.searchParams.get('type')],
      [account, engineer, type]);
    assert.equal(await page.getByTestId('filter-account').inputValue(), account, 'the filter stays as chosen');
    assert.equal(await page.getByTestId('filter-engineer').inputValue(), engineer);
    assert.equal(await page.getByTestId('filter-type').inputValue(), type);
    return logRows(page);
  };
  const alice = people.alice.email;
  assert.deepEqual(await filter({ account: env.SECOND_ACCOUNT }), all.filter((e) => e.account === env.SECOND_ACCOUNT),
    'by account');
  assert.deepEqual((await filter({ account: env.SECOND_ACCOUNT })).map((e) => e.requestId), [second.id]);
  const byEngineer = await filter({ engineer: alice });
  assert.deepEqual(byEngineer, all.filter((e) => e.engineer === alice), 'by engineer');
  assert.equal(byEngineer.length, 13, 'alice\'s three requests\' events, none of carol\'s');
  const byType = await filter({ type: 'APPROVED' });
  assert.deepEqual(byType.map((e) => e.requestId), [revoked.id, approved.id], 'by event type');
  const refusals = await filter({ account: env.ACCOUNT, engineer: alice.toUpperCase(), type: 'REFUSED' });
  assert.deepEqual(refusals, all.filter((e) => e.account === env.ACCOUNT && e.engineer === alice && e.type === 'REFUSED'),
    'all three filters together, the engineer in any case');
  assert.deepEqual(refusals.map((e) => e.requestId), [revoked.id, dismissed.id]);
  await check(page, 'log-filtered');
  await downloadsMatch(page, refusals, 'log-filtered');

  const none = await filter({ account: env.SECOND_ACCOUNT, type: 'REVOKED' });
  assert.deepEqual(none, []);
  assert.equal(await text(page.getByTestId('log-empty')), 'No event matches this filter in the last 30 days.');
  await downloadsMatch(page, none, 'log-empty');
  await navigate(page, () => page.getByTestId('filter-clear').click());
  assert.deepEqual(await logRows(page), all, 'clearing the filter shows every row again');
}

async function anotherTenant() {
  s.erin = await person('erin');
  const { page, context } = s.erin;
  // from a link to a page of the console: signed in, she is back on that page
  await signIn(s.erin, 'erin', { start: `${env.CONSOLE_URL}log?type=APPROVED`, landing: 'log?type=APPROVED' });
  assert.equal(await page.getByTestId('filter-type').inputValue(), 'APPROVED');
  assert.equal(await page.getByTestId('event').count(), 0);
  await navigate(page, () => page.getByTestId('nav-accounts').click());
  const { approved, dismissed, revoked, second } = s.requests;
  const ids = [approved.id, dismissed.id, revoked.id, second.id];
  const acme = [env.ACCOUNT, env.SECOND_ACCOUNT, env.PENDING_ACCOUNT, env.TENANT, ...ids, 'SUP-10', ...Object.values(justifications),
    dismissReason, revokeReason, s.session];
  assert.equal(await text(page.getByTestId('tenant')), env.OTHER_TENANT);
  const row = page.locator(`[data-testid=account-row][data-account="${env.OTHER_ACCOUNT}"]`);
  assert.equal(await row.getAttribute('data-status'), 'pending-onboarding');
  assert.equal(await page.getByTestId('account-row').count(), 1, 'globex\'s one account');
  await nothingOf(page, acme, 'globex\'s accounts page');
  await check(page, 'other-tenant-accounts');

  await navigate(page, () => page.getByTestId('nav-requests').click());
  assert.equal(await page.getByTestId('pending-empty').count(), 1);
  assert.equal(await page.getByTestId('approved-empty').count(), 1);
  await nothingOf(page, acme, 'globex\'s requests page');
  await check(page, 'other-tenant-requests');

  await navigate(page, () => page.getByTestId('nav-log').click());
  assert.equal(await page.getByTestId('event').count(), 0);
  await nothingOf(page, acme, 'globex\'s access log');
  await check(page, 'other-tenant-log');
  await goto(page, `${env.CONSOLE_URL}log?engineer=${encodeURIComponent(people.alice.email)}`);
  assert.equal(await page.getByTestId('event').count(), 0, 'alice\'s events on acme\'s accounts are not globex\'s');
  await nothingOf(page, acme, 'globex\'s access log by engineer');
  for (const ext of ['csv', 'jsonl']) {
    const response = await context.request.get(`${env.CONSOLE_URL}log.${ext}`);
    assert.equal(response.status(), 200);
    const body = await response.text();
    assert.equal(body.split('\n').filter((l) => l !== '').length, ext === 'csv' ? 1 : 0, `globex's log.${ext} is empty`);
    for (const secret of acme) assert.ok(!body.includes(secret), `globex's log.${ext} has ${secret}`);
  }

  // acme's request pages answer as a request that does not exist does
  const nonexistent = 'req-0123456789abcdef01234567';
  await goto(page, `${env.CONSOLE_URL}requests/${nonexistent}`, 404);
  const notFound = await text(page.getByTestId('error'));
  for (const id of ids) {
    await goto(page, `${env.CONSOLE_URL}requests/${id}`, 404);
    assert.equal(await text(page.getByTestId('error')), notFound.replace(nonexistent, id), `${id}: as a request that does not exist`);
    await nothingOf(page, acme, `globex's view of ${id}`, { except: [id] });
    if (id === approved.id) await check(page, 'other-tenant-request');
  }
  // acme's accounts in the log and its downloads: refused as an account that is not globex's
  for (const account of [env.ACCOUNT, env.SECOND_ACCOUNT]) {
    await goto(page, `${env.CONSOLE_URL}log?account=${account}`, 404);
    await nothingOf(page, acme, `globex's log of ${account}`, { except: [account] });
    for (const ext of ['csv', 'jsonl']) {
      const response = await context.request.get(`${env.CONSOLE_URL}log.${ext}?account=${account}`, { maxRedirects: 0 });
      assert.equal(response.status(), 404, `globex's log.${ext} of ${account}`);
      assert.match(response.headers()['content-type'], /^text\/html/, 'an error page, not a file');
      const body = await response.text();
      for (const secret of acme) if (secret !== account) assert.ok(!body.includes(secret), `globex's log.${ext} of ${account} has ${secret}`);
    }
  }
  await check(page, 'other-tenant-log-refused');

  // acme's requests cannot be decided, with globex's own valid token, from globex's console page
  await goto(page, `${env.CONSOLE_URL}requests`);
  const csrf = await page.locator('#signout-form input[name=csrf]').inputValue();
  assert.match(csrf, /^[A-Za-z0-9_-]{43}$/, 'erin\'s session\'s token');
  s.erinCSRF = csrf;
  await unchanged('globex deciding acme\'s requests', async () => {
    for (const [action, id] of [['approve', second.id], ['dismiss', second.id], ['revoke', approved.id],
      ['approve', dismissed.id], ['revoke', revoked.id]]) {
      await goto(page, `${env.CONSOLE_URL}requests`);
      const response = await post(page, `requests/${id}/${action}`, { csrf, reason: 'not yours' });
      assert.equal(response.status(), 404, `erin's ${action} of ${id}`);
      assert.equal(await page.getByTestId('error').getAttribute('data-status'), '404');
      await nothingOf(page, acme, `globex's ${action} of ${id}`, { except: [id] });
    }
  });
  assert.equal((await show(second.id)).state, 'PENDING');
  assert.equal((await show(approved.id)).state, 'APPROVED');
}

async function engineerRefused() {
  const alice = await person('alice');
  const response = await signIn(alice, 'alice', { landing: null });
  const { page } = alice;
  assert.equal(response.status(), 403, 'an engineer gets no session');
  assert.equal(new URL(page.url()).pathname, '/console/callback');
  assert.equal(await page.getByTestId('error').getAttribute('data-status'), '403');
  assert.match(await text(page.getByTestId('error')),
    new RegExp(`^This console is for ${env.VENDOR}'s customers, .* You are signed in as ${people.alice.email}, an engineer`));
  assert.equal(await page.getByTestId('signed-in-as').count(), 0);
  assert.deepEqual((await alice.context.cookies()).filter((c) => /session/i.test(c.name)), [], 'no session cookie');
  await check(page, 'engineer-refused');

  const { second } = s.requests;
  await unchanged('an engineer approving in the console', async () => {
    const posted = await post(page, `requests/${second.id}/approve`, { csrf: 'anything' });
    assert.equal(posted.status(), 403);
    assert.match(await text(page.getByTestId('error')), /^Your session has ended, so nothing was changed\./);
    await check(page, 'no-session-form');
    // nor her own request with the CLI
    const run = await supportctl('alice', ['broker', 'approve', '-id', second.id]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /refused: /);
  });
  await goto(page, `${env.CONSOLE_URL}requests`);
  assert.equal(new URL(page.url()).origin, issuerOrigin, 'a page of the console sends her to sign in');
  await alice.context.close();
}

async function forgedForms() {
  const { page, context } = s.bob;
  const { second, approved } = s.requests;
  const audit = () => control(`/audit?principal=${encodeURIComponent(principal('bob'))}`);
  const before = new Set((await audit()).map((e) => e.id));
  const card = () => page.locator(`[data-testid=pending-request][data-request="${second.id}"]`);
  const setToken = (form, value) => page.locator(`#${form} input[name=csrf]`).evaluate((e, v) => { e.value = v; }, value);
  const refused = async (response, what) => {
    assert.equal(response.status(), 403, what);
    assert.equal(await page.getByTestId('error').getAttribute('data-status'), '403', what);
    assert.match(await text(page.getByTestId('error')), /anti-forgery token is missing or wrong, or another site sent it\); nothing was changed/);
  };

  // another site: a page on another origin of this host posts bob's form, token and all
  const attacker = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html lang="en"><title>elsewhere</title><form method="post" action="${env.CONSOLE_URL}requests/${second.id}/approve">` +
      `<input type="hidden" name="csrf" value="${u.searchParams.get('csrf')}"><button>Win a prize</button></form></html>`);
  });
  await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));

  try {
    await unchanged('forged forms', async () => {
      await goto(page, `${env.CONSOLE_URL}requests`);
      const token = await page.locator('#signout-form input[name=csrf]').inputValue();
      await setToken(`approve-${second.id}`, 'x'.repeat(43));
      await refused(await navigate(page, () => card().getByTestId('approve').click()), 'approve with a wrong token');
      await check(page, 'forged-form');

      await goto(page, `${env.CONSOLE_URL}requests`);
      await page.locator(`#dismiss-${second.id} input[name=csrf]`).evaluate((e) => e.remove());
      await card().getByTestId('dismiss-reason').fill('forged');
      await refused(await navigate(page, () => card().getByTestId('dismiss').click()), 'dismiss without a token');

      await goto(page, `${env.CONSOLE_URL}requests`);
      await setToken(`revoke-${approved.id}`, s.erinCSRF);
      await refused(await navigate(page, () => page.locator(`#revoke-${approved.id}`).getByTestId('revoke').click()),
        'revoke with another session\'s token');

      const elsewhere = `http://127.0.0.1:${attacker.address().port}/?csrf=${encodeURIComponent(token)}`;
      await goto(page, elsewhere);
      await refused(await navigate(page, () => page.getByRole('button', { name: 'Win a prize' }).click()),
        'a form of another origin, with the right token');

      const response = await context.request.post(`${env.CONSOLE_URL}requests/${second.id}/approve`,
        { form: { csrf: token }, headers: { Origin: 'http://evil.example' }, maxRedirects: 0 });
      assert.equal(response.status(), 403, 'another Origin, with the right token');
    });
  } finally {
    attacker.close();
  }
  const added = (await audit()).filter((e) => !before.has(e.id));
  assert.deepEqual(added.map((e) => [e.type, e.action, e.requestId, e.detail]).sort(), [
    ['REFUSED', 'console approve', second.id, 'Origin http://evil.example'],
    ['REFUSED', 'console approve', second.id, 'Sec-Fetch-Site same-site'],
    ['REFUSED', 'console approve', second.id, 'a CSRF token that is not this session\'s'],
    ['REFUSED', 'console dismiss', second.id, 'no CSRF token'],
    ['REFUSED', 'console revoke', approved.id, 'a CSRF token that is not this session\'s'],
  ].sort(), 'each forged form is audited under bob');

  // the same forms, as the page made them, still work
  await goto(page, `${env.CONSOLE_URL}requests`);
  await submit(page, card().getByTestId('approve'), 'the genuine form after the forged ones');
  assert.match(await text(page.getByTestId('notice')), new RegExp(`^Approved ${people.carol.email}'s request ${second.id} `));
  assert.equal((await show(approved.id)).state, 'APPROVED');
}

async function notFound() {
  const { page } = s.bob;
  await goto(page, `${env.CONSOLE_URL}no-such-page`, 404);
  assert.equal(await text(page.locator('h1')), 'Not found');
  assert.equal(await text(page.getByTestId('error')), 'There is no such page.');
  await check(page, 'not-found');
  // a request that does not exist, on the request route: the broker's 404, in the signed-in layout
  await goto(page, `${env.CONSOLE_URL}requests/req-0123456789abcdef01234567`, 404);
  assert.equal(await text(page.getByTestId('error')), 'there is no access request "req-0123456789abcdef01234567"');
  assert.equal(await text(page.getByTestId('signed-in-as')), people.bob.email, 'still signed in');
}

// ---------------------------------------------------------------------------------------------
// Configure and the organization page

/** quickCreate plays the customer opening link (a quick-create link the console gave) in account
 * and creating the stack: test/sim's CloudFormation, the hook behind it. */
const quickCreate = (account, link) => control('/quick-create', { account, link });

/** fragmentParams are a quick-create link's parameters (in its fragment). */
function fragmentParams(link) {
  const u = new URL(link);
  assert.equal(u.searchParams.get('region'), 'us-east-1', 'the templates deploy in us-east-1');
  const [, query] = u.hash.split('/stacks/quickcreate?');
  assert.ok(query, `a quick-create link: ${link}`);
  return new URLSearchParams(query);
}

/** accountRow is account's row on the accounts page. */
const accountRow = (page, account) => page.locator(`[data-testid=account-row][data-account="${account}"]`);

async function configure() {
  const { page, context } = s.bob;
  await goto(page, `${env.CONSOLE_URL}accounts`);
  await navigate(page, () => accountRow(page, env.PENDING_ACCOUNT).getByTestId('configure').click());
  assert.equal(page.url(), `${env.CONSOLE_URL}accounts/${env.PENDING_ACCOUNT}/configure`);
  assert.equal(await page.getByTestId('configure').getAttribute('data-status'), 'pending-onboarding');
  assert.match(await text(page.getByTestId('external-id-note')), /ExternalId, a secret .* made for this account alone/);
  const first = await page.getByTestId('quick-create').getAttribute('href');
  const params = fragmentParams(first);
  assert.match(params.get('param_ExternalId'), /^ext-[A-Za-z0-9_-]{32}$/, 'the account\'s ExternalId');
  assert.equal(params.get('stackName'), 'doit-management-role');
  await check(page, 'configure');

  // the template, read before deploying: the committed file, as text
  const template = await context.request.get(new URL(await page.getByTestId('view-management-template').getAttribute('href'),
    env.CONSOLE_URL).href);
  assert.equal(template.status(), 200);
  assert.match(template.headers()['content-type'], /^text\/yaml/);
  assert.match(await template.text(), /^AWSTemplateFormatVersion/m);

  // a new link: the older one stops working
  await submit(page, page.getByTestId('new-link'), 'making a new link', 200);
  assert.equal(await page.getByTestId('link-fresh').count(), 1);
  const second = await page.getByTestId('quick-create').getAttribute('href');
  assert.notEqual(fragmentParams(second).get('param_ExternalId'), params.get('param_ExternalId'), 'a fresh ExternalId');
  const stale = await quickCreate(env.PENDING_ACCOUNT, first);
  assert.equal(stale.created, false, 'the older link no longer registers the account');
  assert.match(stale.error, /ExternalId/);
  await goto(page, `${env.CONSOLE_URL}accounts`);
  assert.equal(await accountRow(page, env.PENDING_ACCOUNT).getAttribute('data-status'), 'pending-onboarding');

  // bob deploys the stack from the new link: once the hook has registered it, the account is active
  const created = await quickCreate(env.PENDING_ACCOUNT, second);
  assert.equal(created.created, true, `the stack from the console's link: ${created.error}`);
  await goto(page, `${env.CONSOLE_URL}accounts`);
  assert.equal(await accountRow(page, env.PENDING_ACCOUNT).getAttribute('data-status'), 'active', 'active once the hook registered it');
  await goto(page, `${env.CONSOLE_URL}accounts/${env.PENDING_ACCOUNT}/configure`);
  assert.equal(await page.getByTestId('quick-create').count(), 0, 'an active account has no link to deploy');
  assert.equal(await page.getByTestId('new-link').count(), 0);

  // erin (globex) cannot open it, nor make a link for it
  const erin = s.erin.page;
  await unchanged('globex configuring acme\'s account', async () => {
    await goto(erin, `${env.CONSOLE_URL}accounts/${env.PENDING_ACCOUNT}/configure`, 404);
    await nothingOf(erin, [env.TENANT, params.get('param_ExternalId')], 'globex\'s view of acme\'s configure page', { except: [env.PENDING_ACCOUNT] });
    await goto(erin, `${env.CONSOLE_URL}accounts`);
    const response = await post(erin, `accounts/${env.PENDING_ACCOUNT}/link`, { csrf: s.erinCSRF });
    assert.equal(response.status(), 404, 'erin\'s new link for acme\'s account');
  });
}

async function organization() {
  const { page } = s.bob;
  await navigate(page, () => page.getByTestId('nav-organization').click());
  assert.equal(await page.getByTestId('nav-organization').getAttribute('aria-current'), 'page');
  assert.match(await text(page.getByTestId('management-account-note')), /StackSets never deploy to the organization's management account/);
  assert.equal(await page.getByTestId('tokens-empty').count(), 1);
  await check(page, 'organization');

  await submit(page, page.getByTestId('issue-token'), 'issuing a token', 200);
  const token = await page.getByTestId('new-token').inputValue();
  assert.match(token, /^tt-[0-9a-f]{64}$/);
  // the demo publishes no StackSet template (STACKSET_TEMPLATE_URL): the page offers it to upload
  assert.equal(await page.getByTestId('stackset-quick-create').count(), 0);
  const stacksetTemplate = await s.bob.context.request.get(new URL(
    await page.getByTestId('download-stackset-template').getAttribute('href'), env.CONSOLE_URL).href);
  assert.equal(stacksetTemplate.status(), 200);
  assert.match(stacksetTemplate.headers()['content-disposition'], /^attachment; filename="support-gateway-stackset.yaml"$/);
  assert.match(await stacksetTemplate.text(), /AWS::CloudFormation::StackSet/);
  const gatewayLink = await page.getByTestId('gateway-quick-create').getAttribute('href');
  assert.equal(fragmentParams(gatewayLink).get('param_TenantToken'), token);
  const id = await page.getByTestId('token').getAttribute('data-token');
  assert.match(id, /^[0-9a-f]{16}$/);
  await check(page, 'organization-token', { mask: [page.getByTestId('new-token')] });

  // the management account, which StackSets never reach: the support-gateway stack from the link
  const created = await quickCreate(env.GATEWAY_ACCOUNT, gatewayLink);
  assert.equal(created.created, true, `the support-gateway stack with the token: ${created.error}`);
  await goto(page, `${env.CONSOLE_URL}accounts`);
  const row = accountRow(page, env.GATEWAY_ACCOUNT);
  assert.equal(await row.getAttribute('data-status'), 'active', 'registered to acme through its token');
  assert.match(await text(row), /Support gateway/);

  // shown once; listed by ID; revoked
  await navigate(page, () => page.getByTestId('nav-organization').click());
  assert.equal(await page.getByTestId('new-token').count(), 0, 'shown once');
  assert.ok(!(await page.content()).includes(token), 'the token is nowhere on the page again');
  const listed = page.locator(`[data-testid=token][data-token="${id}"]`);
  assert.equal(await listed.getAttribute('data-revoked'), 'false');

  // erin cannot see or revoke it
  const erin = s.erin.page;
  await goto(erin, `${env.CONSOLE_URL}organization`);
  assert.equal(await erin.getByTestId('tokens-empty').count(), 1, 'globex has no token');
  await nothingOf(erin, [id, env.TENANT], 'globex\'s organization page');
  await unchanged('globex revoking acme\'s token', async () => {
    const response = await post(erin, `organization/tokens/${id}/revoke`, { csrf: s.erinCSRF });
    assert.equal(response.status(), 404, 'erin revoking acme\'s token');
  });

  await submit(page, listed.getByTestId('revoke-token'), 'revoking the token');
  assert.match(await text(page.getByTestId('notice')), new RegExp(`^Revoked token ${id}: no new stack can register an account with it`));
  assert.equal(await listed.getAttribute('data-revoked'), 'true');
  const late = await quickCreate(env.LATE_ACCOUNT, gatewayLink);
  assert.equal(late.created, false, 'a revoked token registers no new account');
  assert.match(late.error, /revoked/);
  await goto(page, `${env.CONSOLE_URL}accounts`);
  assert.equal(await accountRow(page, env.GATEWAY_ACCOUNT).getAttribute('data-status'), 'active', 'what it registered stays');
  assert.equal(await accountRow(page, env.LATE_ACCOUNT).count(), 0);

  // the access log shows who configured what: the new link, the token issued and revoked
  await goto(page, `${env.CONSOLE_URL}log?type=CONFIGURED`);
  const configured = await logRows(page);
  assert.deepEqual(configured.map((r) => r.actor), [principal('bob'), principal('bob'), principal('bob')]);
  const reasons = await page.locator('[data-testid=event] td.prose').allInnerTexts();
  assert.deepEqual(reasons.map((r) => r.replace(/ .*/, '')), ['tenant', 'tenant', 'a'], 'revoked, issued (newest first), then the link');
  assert.ok(reasons.every((r) => !r.includes(token)), 'never the token');
  await check(page, 'log-configured');
}

/** standing: bob sets a standing approval from the requests page; alice's next request starts
 * approved; bob removes it. */
async function standing() {
  const { page } = s.bob;
  await goto(page, `${env.CONSOLE_URL}requests`);
  await page.getByTestId('standing-account').selectOption(env.SECOND_ACCOUNT);
  await page.getByTestId('standing-max').selectOption({ label: 'up to 30m' });
  await submit(page, page.getByTestId('standing-save'), 'setting a standing approval');
  assert.match(await text(page.getByTestId('notice')), new RegExp(`^Account ${env.SECOND_ACCOUNT} approves each request at once, for up to 30m`));
  const row = page.locator(`[data-testid=standing-approval][data-account="${env.SECOND_ACCOUNT}"]`);
  assert.match(await text(row), /30m/);
  const r = ok(await supportctl('alice', ['broker', 'request', '-account', env.SECOND_ACCOUNT, '-ticket', 'SUP-77',
    '-justification', 'standing approval check', '-duration', '15m']));
  assert.equal(r.state, 'APPROVED', 'the standing approval approves at once');
  await check(page, 'requests-standing');
  await page.getByTestId('standing-account').selectOption(env.SECOND_ACCOUNT);
  await page.getByTestId('standing-max').selectOption('0');
  await submit(page, page.getByTestId('standing-save'), 'removing the standing approval');
  assert.equal(await row.count(), 0);
}

async function signOut() {
  const { page, context } = s.bob;
  await goto(page, `${env.CONSOLE_URL}accounts`);
  const cookies = await context.cookies(env.CONSOLE_URL);
  assert.ok(cookies.length > 0, 'bob\'s session cookie');
  await submit(page, page.getByTestId('sign-out'), 'signing out');
  assert.equal(page.url(), `${env.CONSOLE_URL}signedout`, 'post/redirect/get');
  assert.equal(await text(page.locator('h1')), 'Signed out');
  assert.equal(await page.getByTestId('signed-in-as').count(), 0);
  await check(page, 'signed-out');
  assert.deepEqual(await context.cookies(env.CONSOLE_URL), [], 'the session cookie is gone');
  await goto(page, `${env.CONSOLE_URL}accounts`);
  assert.equal(new URL(page.url()).origin, issuerOrigin, 'the accounts page sends him to sign in');

  // the old cookie, copied before, is worth nothing: the session ended on the server
  const copy = await browser.newContext();
  await copy.addCookies(cookies);
  const response = await copy.request.get(`${env.CONSOLE_URL}accounts`, { maxRedirects: 0 });
  assert.equal(response.status(), 303);
  assert.match(response.headers().location, /^\/console\/signin\?next=/);
  await copy.close();
}

const steps = [
  ['axe-core finds violations on a page under the console\'s policy', axeUnderThePolicy],
  ['bob (acme) signs in through the sign-in form; his accounts are active', bobSignsIn],
  ['alice and carol sign in with supportctl', engineerSignsIn],
  ['alice asks; bob sees the request and approves it in the page; alice gets credentials', approveInThePage],
  ['alice asks again; bob dismisses it with a reason; alice is refused and reads the reason', dismissInThePage],
  ['a third request approved, then revoked on its page; no new credentials', revokeInThePage],
  ['carol asks for acme\'s second account', secondAccountRequest],
  ['the access log shows it all; its filters and downloads agree with it', theLog],
  ['erin (globex) sees nothing of acme\'s, and can decide nothing of acme\'s', anotherTenant],
  ['an engineer signing in to the console is refused, and cannot approve', engineerRefused],
  ['forged forms are refused, audited, and change nothing', forgedForms],
  ['a page that does not exist', notFound],
  ['bob configures a pending account; once its stack registers, it is active', configure],
  ['bob issues a tenant token, deploys the gateway with it, and revokes it', organization],
  ['bob sets a standing approval from the page, and removes it', standing],
  ['bob signs out; his session is over', signOut],
];

async function main() {
  const started = Date.now();
  browser = await chromium.launch({ executablePath: env.CHROMIUM, headless: true, timeout: ACTION_TIMEOUT });
  console.log(`chromium ${browser.version()}, playwright-core ${JSON.parse(readFileSync(createRequire(import.meta.url).resolve('playwright-core/package.json'), 'utf8')).version}`);
  let failed = false;
  let current;
  try {
    for (const [n, [title, step]] of steps.entries()) {
      current = title;
      const t = Date.now();
      let timer;
      const note = await Promise.race([step(), new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not done within ${STEP_TIMEOUT / 1000}s`)), STEP_TIMEOUT);
      })]).finally(() => clearTimeout(timer));
      console.log(`${String(n + 1).padStart(2)}. ${title}: ${note ?? 'ok'} (${((Date.now() - t) / 1000).toFixed(2)}s)`);
    }
  } catch (err) {
    failed = true;
    console.error(`FAILED: ${current}:\n${err.stack ?? err}`);
    for (const who of [s.bob, s.erin]) {
      if (who && !who.page.isClosed()) {
        console.error(`${who.name}'s page: ${who.page.url()}`);
        await who.page.screenshot({ path: join(env.ARTIFACTS, `failure-${who.name}.png`), fullPage: true }).catch(() => {});
      }
    }
  } finally {
    await browser.close();
    rmSync(cliHome, { recursive: true, force: true });
  }
  const serious = accessibilityReport();
  if (browserErrors.length) console.error(`the browser logged errors on console pages:\n  ${browserErrors.join('\n  ')}`);
  console.log(`browser suite: ${((Date.now() - started) / 1000).toFixed(2)}s`);
  if (failed || serious > 0 || browserErrors.length) process.exit(1);
}

await main();
