// Browser tests of the console's pages (alerts, spend, settings) and the navigation between pages: a real
// Canopy (server.ts) with real data (the simulator's runaways through the stock OTel SDK, and the test's own
// exporter), a headless Chromium, and the API as the judge of what the pages show and do.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Alert, ControlAnswer } from '../lib/domain';
import type { SpendResponse } from '../lib/domain/spend';
import type { DetectorSettings } from '../detector/settings';
import { formatCompact, formatUsd } from '../components/format';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { getJson } from './helpers/api';
import { simulateTrees } from './helpers/sim';

const XSS = '<img src=x onerror=alert(1)>';

let canopy: RunningCanopy;
let browser: Browser;

beforeAll(async () => {
  canopy = await startCanopy();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await canopy?.stop();
});

/** A page at 1280×800 that records anything that would betray script execution or a crash. */
async function openPage(colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; dialogs: string[]; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme });
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { page, dialogs, pageErrors };
}

/** On failure, keep a screenshot and the server's recent output: a bare timeout says little. */
async function diagnose(page: Page, name: string, err: unknown): Promise<never> {
  const shot = `/tmp/canopy-ui-console-failure-${name}.png`;
  await page.screenshot({ path: shot }).catch(() => undefined);
  if (err instanceof Error) err.message += `\n(screenshot: ${shot})\n--- server output (tail) ---\n${canopy.output().slice(-3000)}`;
  throw err;
}

const write = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function loopAlertOf(traceId: string): Promise<Alert> {
  return eventually(async () => {
    const { body } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${traceId}&rule=loop`);
    return body.alerts[0];
  }, 30_000, `a loop alert on ${traceId}`);
}

describe('console', () => {
  it('lists a real loop alert with its evidence, links to its branch, acknowledges it and kills the branch from it', async () => {
    const [loop] = await simulateTrees(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', 'loop', '--once', '--fast', '--seed', '21']);
    const alert = await loopAlertOf(loop.traceId);

    const { page, dialogs, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/alerts?rule=loop`);
      const card = page.locator(`[data-alert-id="${alert.id}"]`);
      await card.waitFor({ timeout: 20_000 });
      expect(await card.locator('.alert-title').textContent()).toBe(alert.title);
      expect(await card.locator('.rule-badge').textContent()).toBe('Loop');
      expect(await card.getAttribute('data-status')).toBe('open');
      expect(await card.getByTestId('evidence-value').textContent()).toBe(String(alert.evidence.value));
      expect(await card.locator('.evidence-measure').textContent()).toContain(`warning at ${alert.evidence.warningAt}, critical at ${alert.evidence.criticalAt}`);
      expect(await page.locator('[aria-current="page"]').textContent()).toBe('Alerts');

      // The link opens the tree at the offending branch: that span selected.
      const link = card.getByTestId('alert-branch-link');
      expect(await link.getAttribute('href')).toBe(`/traces/${alert.traceId}?span=${alert.spanId}`);
      await link.click();
      await page.waitForURL(`**/traces/${alert.traceId}?span=${alert.spanId}`);
      await page.locator(`[role=treeitem][data-span-id="${alert.spanId}"][aria-selected="true"]`).waitFor({ timeout: 20_000 });
      await page.goBack();
      await card.waitFor();

      // Acknowledge: the card and the API agree.
      await card.getByRole('button', { name: 'Acknowledge' }).click();
      await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('acknowledged');
      expect((await getJson<Alert>(`${canopy.url}/api/alerts/${alert.id}`)).body.status).toBe('acknowledged');
      expect(await card.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

      // Kill from the alert: a dialog says what will stop; its "Kill" button reaches the control API.
      const before = (await getJson<ControlAnswer>(`${canopy.url}/api/control/${alert.traceId}?spanId=${alert.spanId}`)).body;
      expect(before.killed).toBe(false);
      await card.getByRole('button', { name: /^Kill/ }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain(alert.spanId);
      expect(await dialog.textContent()).toContain('every span below it');
      await expect.poll(() => dialog.getByTestId('kill-stake').textContent(), { timeout: 15_000 }).toMatch(/The tree so far: [\d,]+ spans, .*spent/);
      await dialog.getByRole('button', { name: 'Kill', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });
      const after = await eventually(async () => {
        const { body } = await getJson<ControlAnswer>(`${canopy.url}/api/control/${alert.traceId}?spanId=${alert.spanId}`);
        return body.killed ? body : undefined;
      }, 5_000, 'the branch killed');
      expect(after).toMatchObject({ killed: true, scope: 'branch', killedSpanId: alert.spanId });
      expect(after.reason).toContain(alert.title);
      expect(await card.locator('.kill-sent').textContent()).toContain('Branch killed');

      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'alerts', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it("keeps an alert title and its evidence's names as text when a tool's name is HTML", async () => {
    // An agent calling a tool named like markup, with the same arguments, again and again: a loop.
    const { tracer, finished } = recordingTracer(`console-xss-${Date.now()}`);
    const agent = startSpan(tracer, 'invoke_agent Fixer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Fixer' });
    for (let i = 0; i < 6; i++) {
      startSpan(tracer, `execute_tool ${XSS}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': XSS, 'gen_ai.tool.call.arguments': '{"path":"src/"}' }, agent).end();
    }
    agent.end();
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), finished());
    const alert = await loopAlertOf(agent.spanContext().traceId);
    expect(alert.title).toContain(XSS);

    const { page, dialogs, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/alerts`);
      const card = page.locator(`[data-alert-id="${alert.id}"]`);
      await card.waitFor({ timeout: 20_000 });
      expect(await card.locator('.alert-title').textContent()).toBe(alert.title);
      expect(await card.locator('.evidence-facts code').allTextContents()).toEqual(alert.evidence.names);
      expect(await page.locator('img').count()).toBe(0);
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'xss', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('charts spend and tokens of real data by model and by service, with the numbers the API gives, and the kills of the period', async () => {
    const trees = await simulateTrees(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', 'normal,fanout,normal', '--once', '--fast', '--seed', '22']);
    const fanout = trees.find((t) => t.scenario === 'fanout')!;
    const killed = await fetch(`${canopy.url}/api/traces/${fanout.traceId}/kill`, write({ reason: 'too wide' }));
    expect(killed.status).toBe(200);
    // Every tree stored (and the kill with it) before the page and the test read the same numbers.
    const api = await eventually(async () => {
      const { body } = await getJson<SpendResponse>(`${canopy.url}/api/spend?range=1h`);
      const listed = new Set(body.topTrees.map((t) => t.traceId));
      return trees.every((t) => listed.has(t.traceId)) && body.kills.some((k) => k.traceId === fanout.traceId) ? body : undefined;
    }, 30_000, 'the trees in the spend');
    expect(api.series.model.length).toBeGreaterThan(1);

    const { page, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/spend?range=1h&by=model`);
      const spendChart = page.locator('figure[data-metric="costUsd"]');
      const tokenChart = page.locator('figure[data-metric="tokens"]');
      // One area (an svg path) per series in each chart.
      await expect.poll(() => spendChart.locator('path.recharts-area-area').count(), { timeout: 20_000 }).toBe(api.series.model.length);
      expect(await tokenChart.locator('path.recharts-area-area').count()).toBe(api.series.model.length);
      for (const d of await spendChart.locator('path.recharts-area-area').evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? ''))) {
        expect(d).toMatch(/^M[\d.,\s-]+L/);
      }
      expect(await page.locator('[data-stat="spend"]').textContent()).toBe(formatUsd(api.totals.costUsd));
      expect(await page.locator('[data-stat="tokens"]').textContent()).toBe(formatCompact(api.totals.inputTokens + api.totals.outputTokens));
      const rows = page.getByTestId('series-table').locator('tbody tr');
      expect(await rows.count()).toBe(api.series.model.length);
      for (let i = 0; i < api.series.model.length; i++) {
        const s = api.series.model[i];
        const spend = await rows.nth(i).locator('[data-col="spend"]').textContent();
        if (s.unpricedCalls === 0) expect(spend).toBe(formatUsd(s.costUsd));
        else expect(spend).toMatch(new RegExp(`unpriced.*${s.unpricedCalls}|${s.unpricedCalls}.*unpriced`));
        expect(await rows.nth(i).locator('[data-col="tokens"]').textContent()).toBe(formatCompact(s.tokens));
        if (!s.other) expect(await rows.nth(i).getAttribute('data-series-key')).toBe(s.key);
      }
      const top = page.getByTestId('top-trees').locator('tbody tr').first();
      expect(await top.getAttribute('data-trace-id')).toBe(api.topTrees[0].traceId);

      const kill = api.kills.find((k) => k.traceId === fanout.traceId)!;
      expect(kill.costUsd).toBeGreaterThan(0);
      const killRow = page.getByTestId('kills-table').locator(`tr[data-trace-id="${fanout.traceId}"]`);
      expect(await killRow.locator('[data-col="spend"]').textContent()).toBe(formatUsd(kill.costUsd));
      expect(await killRow.locator('[data-col="burn"]').textContent()).toMatch(/^\$[\d.,]+\/min$|^—$/);

      // By service: the same page regroups the same range.
      await page.getByRole('button', { name: 'By service' }).click();
      await page.waitForURL('**/spend?range=1h&by=service');
      await expect.poll(() => spendChart.locator('path.recharts-area-area').count()).toBe(api.series.service.length);
      expect(await rows.first().getAttribute('data-series-key')).toBe(api.series.service[0].key);

      // The range is a button away, and lands in the URL.
      await page.getByRole('button', { name: '24h' }).click();
      await page.waitForURL('**/spend?range=24h&by=service');
      await expect.poll(() => page.locator('.spend-body').getAttribute('data-range')).toBe('24h');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'spend', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('shows the storage mode, backtests and saves a threshold, and puts a bad value’s 400 next to its field', async () => {
    const { page, pageErrors } = await openPage();
    const rules = async () => (await getJson<DetectorSettings>(`${canopy.url}/api/detector/rules`)).body;
    try {
      await page.goto(`${canopy.url}/settings`);
      const mode = page.locator('[data-fact="storage-mode"]');
      await mode.waitFor({ timeout: 20_000 });
      expect(await mode.getAttribute('data-mode')).toBe('embedded');
      expect(await mode.textContent()).toContain('Embedded');
      expect(await page.locator('[data-fact="retention"]').textContent()).toContain('30 days');
      expect(await page.locator('[data-fact="api-keys"]').textContent()).toContain('Not required');
      expect(await page.locator('[data-fact="detector"]').textContent()).toContain('Runs in this process');
      expect(await page.locator('[data-fact="webhook"]').textContent()).toContain('Not configured');

      const field = page.locator('[data-field="loop.consecutive"]');
      const input = field.locator('input');
      expect(await input.inputValue()).toBe(String((await rules()).loop.consecutive));

      // A good value: backtested over last week's trees, then saved.
      await input.fill('4');
      await page.getByRole('button', { name: 'Review and save' }).click();
      const review = page.getByTestId('backtest');
      await review.waitFor({ timeout: 60_000 });
      expect(await review.locator('[data-rule="loop"]').count()).toBe(1);
      expect(await review.locator('[data-rule="loop"] [data-testid="backtest-added"]').textContent()).toMatch(/^\d+$/);
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Saved. The detector applies the new settings on its next tick.').waitFor();
      expect((await rules()).loop.consecutive).toBe(4);

      // A bad value: the API's own message, next to the field; nothing saved.
      await input.fill('1');
      await page.getByRole('button', { name: 'Review and save' }).click();
      const error = field.locator('.field-error');
      await error.waitFor({ timeout: 30_000 });
      const put = await fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...(await rules()), loop: { ...(await rules()).loop, consecutive: 1 } }) });
      expect(put.status).toBe(400);
      const message = ((await put.json()) as { error: string }).error;
      expect(message.startsWith('loop.consecutive: ')).toBe(true);
      expect(await error.textContent()).toBe(message.slice('loop.consecutive: '.length));
      expect(await input.getAttribute('aria-invalid')).toBe('true');
      expect((await rules()).loop.consecutive).toBe(4);

      // An auto-kill policy alone needs no backtest; it is saved as chosen.
      await input.fill('4');
      await page.getByRole('combobox', { name: 'Stall: on critical' }).selectOption('branch');
      await page.getByRole('button', { name: 'Review and save' }).click();
      await page.getByText('Only auto-kill policies changed').waitFor();
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Saved. The detector applies').waitFor();
      expect((await rules()).autoKill.stall).toEqual({ mode: 'observe', warning: 'off', critical: 'branch' });
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'settings', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it("shows the webhook's target host (never its secret path), its last delivery and its failures", async () => {
    // A receiver that refuses the first post (500, retried) and takes the rest.
    let posts = 0;
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(posts++ === 0 ? 500 : 200).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const secretPath = '/services/T0/B0/very-secret-token';
    const hooked = await startCanopy({ env: { CANOPY_WEBHOOK_URL: `http://${host}${secretPath}`, CANOPY_TREE_BUDGET_USD: '2.5' } });
    const { page, pageErrors } = await openPage();
    try {
      await simulateTrees(['--endpoint', hooked.otlpUrl, '--no-kill-check', '--scenario', 'loop', '--once', '--fast', '--seed', '23']);
      await eventually(async () => (posts >= 2 ? true : undefined), 30_000, 'the alert delivered after a retry');
      await page.goto(`${hooked.url}/settings`);
      const status = page.locator('[data-fact="webhook"]');
      await status.waitFor({ timeout: 20_000 });
      expect(await status.textContent()).toContain(`Configured: posts to ${host}, unsigned`);
      await expect.poll(() => page.locator('[data-fact="webhook-last"]').textContent(), { timeout: 20_000 }).toMatch(/just now|\ds ago/);
      expect(await page.locator('[data-fact="webhook-failures"]').textContent()).toMatch(/0 given up, [1-9]\d* retried, 0 dropped · last .*: HTTP 500/);
      expect(await page.locator('[data-fact="budget"]').textContent()).toContain('$2.50 per tree');
      expect(await page.content()).not.toContain('very-secret-token');
      expect(await (await fetch(`${hooked.url}/api/settings`)).text()).not.toContain('very-secret-token');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'webhook', err);
    } finally {
      await page.close();
      await hooked.stop();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  }, 120_000);

  it('navigates between pages from the header by keyboard, marks the page it is on, and follows a dark system theme', async () => {
    const { page, pageErrors } = await openPage('dark');
    try {
      await page.goto(`${canopy.url}/`);
      const nav = page.getByRole('navigation', { name: 'Main' });
      // Hydrated and talking to the API: the links navigate client-side from here.
      await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Traces', 'Alerts', 'Spend', 'Settings']);
      expect(await nav.locator('[aria-current="page"]').textContent()).toBe('Traces');
      await nav.getByRole('link', { name: 'Spend' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL('**/spend');
      await expect.poll(() => nav.locator('[aria-current="page"]').textContent()).toBe('Spend');
      await page.keyboard.press('Tab'); // focus moves on to the next link: Settings
      await page.keyboard.press('Enter');
      await page.waitForURL('**/settings');
      await expect.poll(() => nav.locator('[aria-current="page"]').textContent()).toBe('Settings');
      // The dark palette: a dark page behind light text.
      const [bg, fg] = await page.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]);
      const luminance = (rgb: string) => rgb.match(/\d+/g)!.slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 3;
      expect(luminance(bg)).toBeLessThan(60);
      expect(luminance(fg)).toBeGreaterThan(180);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'nav', err);
    } finally {
      await page.close();
    }
  }, 60_000);
});
