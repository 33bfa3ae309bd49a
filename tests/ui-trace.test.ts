// Browser tests of the incident console's first two pages, the trace list (`/`) and the trace page
// (`/traces/<id>`): a real Canopy (server.ts, embedded engine), spans sent by the stock OTel exporter, the
// simulator and the SDK's started reports, and Debian's Chromium.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { context, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Alert, ControlAnswer, TraceDetailResponse } from '../lib/domain';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { findTrace, getJson, waitForTrace } from './helpers/api';
import { simulateTrees } from './helpers/sim';
import { startedReport } from '../sdk/src/start-processor';

const XSS = '<img src=x onerror=alert(1)>';

const llm = (input: number, output: number, prompt = 'What next?'): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.response.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': input,
  'gen_ai.usage.output_tokens': output,
  'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: prompt }] }]),
});
const tool = (name: string, args?: object): Attributes => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, ...(args ? { 'gen_ai.tool.call.arguments': JSON.stringify(args) } : {}) });
const agent = (name: string): Attributes => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });

let canopy: RunningCanopy;
let browser: Browser;

beforeAll(async () => {
  canopy = await startCanopy();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await canopy?.stop();
});

/** A page that records anything that would betray script execution or a crash. */
async function openPage(viewport = { width: 1280, height: 800 }): Promise<{ page: Page; dialogs: string[]; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport });
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // A page whose HTML and first render disagree is rebuilt in the browser (React reports it on the console).
  page.on('console', (m) => m.type() === 'error' && /hydrat/i.test(m.text()) && pageErrors.push(m.text()));
  return { page, dialogs, pageErrors };
}

/** On failure, keep a screenshot and the server's recent output: a bare timeout says little. */
async function diagnose(page: Page, name: string, err: unknown): Promise<never> {
  const shot = `/tmp/canopy-ui-trace-failure-${name}.png`;
  await page.screenshot({ path: shot }).catch(() => undefined);
  if (err instanceof Error) err.message += `\n(screenshot: ${shot})\n--- server output (tail) ---\n${canopy.output().slice(-3000)}`;
  throw err;
}

const rowOf = (page: Page, spanId: string) => page.locator(`[role=treeitem][data-span-id="${spanId}"]`);
const control = async (traceId: string, spanId?: string) =>
  (await getJson<ControlAnswer>(`${canopy.url}/api/control/${traceId}${spanId ? `?spanId=${spanId}` : ''}`)).body;

async function flush(rec: { finished: () => ReadableSpan[]; reset: () => void }, to: RunningCanopy = canopy): Promise<void> {
  const spans = rec.finished();
  rec.reset();
  if (spans.length) await sendOk(exporterFor(to.otlpUrl, 'proto'), spans);
}

describe('trace list and trace page', () => {
  it('list → tree: a runaway stands out, its alert marks the rows it names, the alert jumps to its span, repeats are grouped', async () => {
    const [loop] = await simulateTrees(['--endpoint', canopy.otlpUrl, '--api', canopy.url, '--scenario', 'loop', '--once', '--fast', '--seed', '4242', '--service', `ui-loop-${Date.now()}`]);
    const alert = await eventually(async () => {
      const { body } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${loop.traceId}`);
      return body.alerts.find((a) => a.rule === 'loop');
    }, 60_000, 'the loop alert');

    const { page, dialogs, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/`);
      const row = page.locator(`tr[data-trace-id="${loop.traceId}"]`);
      await row.waitFor({ timeout: 30_000 });
      // It stands out: the alert's severity in its own column, a marked row, its burn rate.
      await expect.poll(() => row.getAttribute('class'), { timeout: 15_000 }).toMatch(/has-alert/);
      expect(await row.locator('[data-col=alerts]').textContent()).toMatch(/⚠ \d+ open, worst (warning|critical)/);
      expect(await row.locator('[data-col=burn]').textContent()).toMatch(/\$[\d.]+\/min/);

      await row.locator('.trace-link').click();
      await page.waitForURL(`**/traces/${loop.traceId}`);
      await page.getByRole('tree').waitFor();
      // The header lists the open alert by its title; the row the alert names carries its badge.
      const openAlerts = page.getByTestId('open-alerts');
      await openAlerts.waitFor();
      expect(await openAlerts.textContent()).toContain(alert.title);
      await expect.poll(() => rowOf(page, alert.spanId).locator('.alert-badge').count()).toBe(1);
      // The identical run_tests calls are one row, "× N run_tests(path=…)".
      const group = page.locator('[data-group]').filter({ hasText: 'run_tests(' });
      expect(await group.locator('.repeat-count').textContent()).toMatch(/^× 1[0-4]$/);
      expect(await group.locator('.span-name').textContent()).toContain('path=tests/test_checkout.py');
      // The alert's evidence is the repeated calls: the group row carries the badge too.
      expect(await group.locator('.alert-badge').count()).toBe(1);

      // A click on the alert selects the span it names and opens its details.
      await openAlerts.getByRole('button', { name: alert.title }).click();
      await expect.poll(() => rowOf(page, alert.spanId).getAttribute('aria-selected')).toBe('true');
      expect(await page.getByTestId('span-details').locator('.details-name').textContent()).toBe('invoke_agent CodingAgent');
      expect(new URL(page.url()).searchParams.get('span')).toBe(alert.spanId);

      // The hottest path opens the most expensive branch down to a leaf.
      await page.getByRole('button', { name: /Hottest path/ }).click();
      await expect.poll(() => page.locator('.tree-row.is-hot').count()).toBeGreaterThan(1);

      // The repeated calls open into the calls themselves; a tool call shows its arguments and result, no spend box.
      await group.click();
      const firstCall = page.locator('[role=treeitem][data-span-id]').filter({ has: page.locator('.span-name', { hasText: 'run_tests' }) }).first();
      await firstCall.click();
      const details = page.getByTestId('span-details');
      await details.getByTestId('span-io').waitFor();
      expect(await details.getByTestId('span-io').textContent()).toContain('FAILED tests/test_checkout.py');
      expect(await details.getByTestId('span-spend').count()).toBe(0);
      expect(await details.textContent()).toMatch(/A hash of the tool and its arguments/);
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'alert', err);
    } finally {
      await page.close();
    }
  }, 240_000);

  it('a running tree grows by increments (since=): new rows appear, the selection and closed branches stay', async () => {
    const rec = recordingTracer(`ui-grow-${Date.now()}`);
    const root = startSpan(rec.tracer, 'invoke_agent Grower', agent('Grower'));
    const traceId = root.spanContext().traceId;
    // Reported at start, as the SDK does: the tree runs, its root known.
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), [startedReport(root as never)]);
    const stepA = startSpan(rec.tracer, 'invoke_agent StepA', agent('StepA'), root);
    for (let i = 0; i < 3; i++) startSpan(rec.tracer, `chat a${i}`, llm(100, 10, `a${i}`), stepA).end();
    stepA.end();
    await flush(rec);
    await waitForTrace(canopy.url, traceId, 5);

    const { page, pageErrors } = await openPage();
    const requests: URL[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname === `/api/traces/${traceId}`) requests.push(url);
    });
    try {
      await page.goto(`${canopy.url}/traces/${traceId}`);
      const rows = page.locator('[role=treeitem]');
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(5);
      expect(await page.getByTestId('trace-live').textContent()).toContain('Live');
      expect(await rowOf(page, root.spanContext().spanId).locator('.live-badge').count()).toBe(1);
      // Select a model call and close StepA's branch... then open it again: both must survive the growth.
      const a1 = rows.filter({ has: page.locator('.span-name', { hasText: 'chat a1' }) });
      await a1.click();
      const stepARow = rowOf(page, stepA.spanContext().spanId);

      // Spans arrive in two batches; the second one's parent (StepB) arrives with it, below the root.
      const stepB = startSpan(rec.tracer, 'invoke_agent StepB', agent('StepB'), root);
      for (let i = 0; i < 4; i++) startSpan(rec.tracer, `chat b${i}`, llm(200, 20, `b${i}`), stepB).end();
      await flush(rec);
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(10);
      // StepB is still open: its calls wait for it under "parent pending", not as orphans, below a row standing
      // for StepB by the id it will have, with their spend.
      expect(await page.locator('.detached-row[data-detached=pending]').count()).toBe(1);
      expect(await page.locator('.badge.parent-pending').count()).toBe(4);
      expect(await page.locator('.badge.orphan').count()).toBe(0);
      const stepBId = stepB.spanContext().spanId;
      const pendingRow = rowOf(page, stepBId);
      expect(await pendingRow.getAttribute('data-pending-parent')).toBe('pending');
      expect(await pendingRow.locator('.span-name').textContent()).toBe(`span ${stepBId.slice(0, 8)}`);
      expect(await pendingRow.locator('[data-col=rollup-tokens]').textContent()).toBe('800/80');
      // The keyboard reaches it: left from one of its calls selects it, left again folds it, right opens it.
      await rows.filter({ has: page.locator('.span-name', { hasText: 'chat b0' }) }).click();
      await page.getByRole('tree').press('ArrowLeft');
      expect(await pendingRow.getAttribute('aria-selected')).toBe('true');
      await page.getByRole('tree').press('ArrowLeft');
      await expect.poll(() => rows.count()).toBe(6);
      expect(await pendingRow.getAttribute('aria-expanded')).toBe('false');
      await page.getByRole('tree').press('ArrowRight');
      await expect.poll(() => rows.count()).toBe(10);
      await a1.click(); // the selection the rest of this test follows
      // The running step can be killed before it arrives: its branch's Kill, confirmed; the control API agrees.
      await pendingRow.hover();
      await pendingRow.getByRole('button', { name: /^Kill branch/ }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      expect(await dialog.textContent()).toMatch(/4 spans so far/);
      await dialog.getByRole('button', { name: 'Kill', exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(await control(traceId, stepBId)).toMatchObject({ killed: true, scope: 'branch', killedSpanId: stepBId });
      await expect.poll(() => pendingRow.getAttribute('class'), { timeout: 10_000 }).toMatch(/is-killed/);
      expect(await pendingRow.getByRole('button', { name: /^Revive branch/ }).count()).toBe(1);
      await stepARow.locator('button.caret').click();
      await expect.poll(() => rows.count()).toBe(7);
      stepB.end();
      await flush(rec);
      // StepB arrives: its calls move under it, the root's branch spend grows, the selection and StepA's state stay.
      await expect.poll(() => page.locator('.detached-row').count(), { timeout: 20_000 }).toBe(0);
      expect(await rows.count()).toBe(7);
      expect(await rowOf(page, stepB.spanContext().spanId).getAttribute('aria-level')).toBe('2');
      await expect.poll(() => rowOf(page, root.spanContext().spanId).locator('[data-col=rollup-tokens]').textContent()).toBe('1.10k/110');
      expect(await stepARow.getAttribute('aria-expanded')).toBe('false');
      await stepARow.locator('button.caret').click();
      expect(await a1.getAttribute('aria-selected')).toBe('true');
      expect(await page.getByTestId('span-details').locator('.details-name').textContent()).toBe('chat a1');

      // The first read came with the page (its HTML); every read the page made asked only for what changed.
      expect(requests.length).toBeGreaterThan(1);
      expect(requests.every((u) => u.searchParams.get('since'))).toBe(true);

      root.end();
      await flush(rec);
      await expect.poll(() => page.locator('.trace-summary [data-status]').getAttribute('data-status'), { timeout: 20_000 }).toBe('completed');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'grow', err);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('keeps the rows in view where they were when spans arrive above them', async () => {
    const rec = recordingTracer(`ui-scroll-${Date.now()}`);
    const root = startSpan(rec.tracer, 'invoke_agent Scroller', agent('Scroller'));
    const traceId = root.spanContext().traceId;
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), [startedReport(root as never)]);
    const late = startSpan(rec.tracer, 'invoke_agent Late', agent('Late'), root);
    for (let i = 0; i < 80; i++) startSpan(rec.tracer, `chat late-${i}`, llm(10, 1, `late ${i}`), late).end();
    late.end();
    await flush(rec);
    await waitForTrace(canopy.url, traceId, 82);

    const { page, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/traces/${traceId}`);
      await page.locator('[role=treeitem]').first().waitFor({ timeout: 20_000 });
      // The whole tree first (its first 40 rows come in the HTML, the rest right after): this is about spans
      // arriving later, above the rows in view.
      await expect.poll(() => page.locator('.tree-counts').textContent(), { timeout: 20_000 }).toContain('82 spans · ');
      const tree = page.getByRole('tree');
      await tree.evaluate((el) => (el.scrollTop = 40 * 28));
      const firstInView = () =>
        tree.evaluate((el) => {
          const top = el.getBoundingClientRect().top + 30; // below the sticky header
          const rows = [...el.querySelectorAll('[role=treeitem]')] as HTMLElement[];
          return rows.find((r) => r.getBoundingClientRect().bottom > top + 2)?.querySelector('.span-name')?.textContent ?? null;
        });
      await expect.poll(firstInView).toMatch(/^chat late-\d+$/);
      const before = await firstInView();
      // A branch that started before "Late" arrives: ten rows above the ones in view.
      const early = rec.tracer.startSpan('invoke_agent Early', { attributes: agent('Early'), startTime: new Date(Date.now() - 60_000) }, trace.setSpan(context.active(), root));
      for (let i = 0; i < 9; i++) rec.tracer.startSpan(`chat early-${i}`, { attributes: llm(10, 1, `early ${i}`), startTime: new Date(Date.now() - 59_000 + i) }, trace.setSpan(context.active(), early)).end(new Date(Date.now() - 58_000));
      early.end(new Date(Date.now() - 50_000));
      await flush(rec);
      await expect.poll(() => page.locator('.tree-counts').textContent(), { timeout: 20_000 }).toContain('92 spans');
      await expect.poll(async () => (await tree.evaluate((el) => el.scrollTop)) >= 50 * 28, { timeout: 20_000 }).toBe(true);
      expect(await firstInView()).toBe(before);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'scroll', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('scrolls a tree whose rest is still being read to where its rows will be, and fills them in there', async () => {
    const rec = recordingTracer(`ui-partial-${Date.now()}`);
    const root = startSpan(rec.tracer, 'invoke_agent Reader', agent('Reader'));
    for (let i = 0; i < 80; i++) startSpan(rec.tracer, `chat part-${i}`, llm(10, 1, `part ${i}`), root).end();
    root.end();
    await flush(rec);
    const traceId = root.spanContext().traceId;
    await waitForTrace(canopy.url, traceId, 81);
    // Its 80 calls at once are a fan-out: the page opens once the alert is there, so the header's alert line is
    // in the first render and does not arrive with the held read, moving the rows this test scrolls to.
    await eventually(async () => ((await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?traceId=${traceId}`)).body.alerts.length > 0 ? true : undefined), 20_000, 'the fan-out alert');

    const { page, pageErrors } = await openPage();
    // The whole read is held back (the network, not our code): the page shows only the first rows of its HTML.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route(
      (url) => url.pathname === `/api/traces/${traceId}` && !url.searchParams.has('first'),
      async (route) => (await held, route.continue()),
    );
    try {
      await page.goto(`${canopy.url}/traces/${traceId}`);
      await expect.poll(() => page.locator('.tree-counts').textContent(), { timeout: 20_000 }).toMatch(/first 40 of 81 spans/);
      const tree = page.getByRole('tree');
      // As tall as the whole tree: the user can scroll to the end of it before it has arrived.
      const rowsTall = await tree.evaluate((el) => Math.floor((el.scrollHeight - 30) / 28));
      expect(rowsTall).toBeGreaterThanOrEqual(81);
      await tree.evaluate((el) => (el.scrollTop = el.scrollHeight));
      await expect.poll(() => page.locator('.row-pending').count()).toBeGreaterThan(5);
      expect(await page.locator('[role=treeitem]').filter({ hasText: 'chat part-79' }).count()).toBe(0);

      release();
      // The rest fills in where the placeholders were, without a jump back to the top.
      await page.locator('[role=treeitem]').filter({ hasText: 'chat part-79' }).waitFor({ timeout: 20_000 });
      await expect.poll(() => page.locator('.row-pending').count()).toBe(0);
      expect(await tree.evaluate((el) => el.scrollTop)).toBeGreaterThan(30 * 28);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      release();
      await diagnose(page, 'partial', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('kills a branch and the tree through the buttons (dialog, "Kill"), the control API agrees, and revives them', async () => {
    const rec = recordingTracer(`ui-kill-${Date.now()}`);
    const root = startSpan(rec.tracer, 'invoke_agent ReleaseManager', agent('ReleaseManager'));
    const coder = startSpan(rec.tracer, 'invoke_agent CodingAgent', agent('CodingAgent'), root);
    const docs = startSpan(rec.tracer, 'invoke_agent DocsWriter', agent('DocsWriter'), root);
    for (let i = 0; i < 3; i++) startSpan(rec.tracer, 'execute_tool run_tests', tool('run_tests', { path: 'src/' }), coder).end();
    startSpan(rec.tracer, 'chat gpt-4o', llm(1000, 100), coder).end();
    startSpan(rec.tracer, 'chat gpt-4o', llm(500, 50), docs).end();
    const traceId = root.spanContext().traceId;
    const coderId = coder.spanContext().spanId;
    // Running: every span reported at start, none of the agents ended.
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), [root, coder, docs].map((s) => startedReport(s as never)));
    await flush(rec);
    await waitForTrace(canopy.url, traceId, 8);

    const { page, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/traces/${traceId}`);
      const coderRow = rowOf(page, coderId);
      await coderRow.waitFor({ timeout: 20_000 });

      // Kill the branch: a real button named "Kill branch …", a dialog that says what stops, confirmed with "Kill".
      await coderRow.hover();
      await coderRow.getByRole('button', { name: /^Kill branch/ }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const said = (await dialog.textContent()) ?? '';
      expect(said).toContain('invoke_agent CodingAgent');
      expect(said).toMatch(/5 spans so far, 1 still running/);
      expect(said).toMatch(/Spend so far: \$\d/);
      await dialog.getByRole('button', { name: 'Kill', exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(await control(traceId, coderId)).toMatchObject({ killed: true, scope: 'branch', killedSpanId: coderId });
      expect((await control(traceId, docs.spanContext().spanId)).killed).toBe(false);
      // The branch reads killed, struck through, with Revive on its root; its sibling does not.
      await expect.poll(() => coderRow.getAttribute('class'), { timeout: 10_000 }).toMatch(/is-killed/);
      // CodingAgent, the row of its three identical run_tests calls, and its model call.
      expect(await page.locator('.tree-row.is-killed').count()).toBe(3);
      expect(await rowOf(page, docs.spanContext().spanId).getAttribute('class')).not.toMatch(/is-killed/);

      await coderRow.getByRole('button', { name: /^Revive branch/ }).click();
      await eventually(async () => ((await control(traceId, coderId)).killed ? undefined : true), 10_000, 'the branch revived');
      await expect.poll(() => coderRow.getAttribute('class'), { timeout: 10_000 }).not.toMatch(/is-killed/);

      // Kill the whole tree from the header.
      await page.getByRole('button', { name: 'Kill tree' }).click();
      await dialog.waitFor();
      expect(await dialog.textContent()).toMatch(/every span of the tree.*8 spans so far, 3 still running/s);
      await dialog.getByRole('button', { name: 'Kill', exact: true }).click();
      await expect.poll(() => page.locator('.trace-summary [data-status]').getAttribute('data-status'), { timeout: 10_000 }).toBe('killed');
      expect(await control(traceId)).toMatchObject({ killed: true, scope: 'tree' });
      expect(await page.locator('.tree-row.is-killed').count()).toBe(await page.locator('.tree-row').count());
      await page.getByRole('button', { name: 'Revive tree' }).click();
      await eventually(async () => ((await control(traceId)).killed ? undefined : true), 10_000, 'the tree revived');
      await page.getByRole('button', { name: 'Kill tree' }).waitFor({ timeout: 10_000 });
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'kill', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('renders a 10,000-span tree’s first rows, opens ?span= at its span, and keeps span names text', async () => {
    const rec = recordingTracer(`ui-big-${Date.now()}`);
    const root = startSpan(rec.tracer, `invoke_agent Swarm ${XSS}`, agent('Swarm'));
    let last: Span | null = null;
    for (let a = 0; a < 100; a++) {
      const worker = startSpan(rec.tracer, `invoke_agent Worker-${a}`, agent(`Worker-${a}`), root);
      for (let c = 0; c < 99; c++) {
        const s = c % 3 === 0 ? startSpan(rec.tracer, 'execute_tool grep', tool('grep', { q: `term${c}` }), worker) : startSpan(rec.tracer, 'chat gpt-4o', llm(10, 1, `p${a}-${c}`), worker);
        s.end();
        last = s;
      }
      worker.end();
    }
    root.end();
    const traceId = root.spanContext().traceId;
    const spans = rec.finished();
    expect(spans.length).toBe(10_001);
    for (let i = 0; i < spans.length; i += 2000) await sendOk(exporterFor(canopy.otlpUrl, 'proto'), spans.slice(i, i + 2000));
    await eventually(async () => ((await findTrace(canopy.url, traceId))?.spanCount === 10_001 ? true : undefined), 90_000, 'all spans stored');
    const target = last!.spanContext().spanId;

    // The page's first answer (`?first=N`): the top of the tree, each span exactly as the whole detail has it.
    const detailUrl = `${canopy.url}/api/traces/${traceId}`;
    const read = async (url: string) => (await (await fetch(url)).json()) as TraceDetailResponse;
    // The detector raises alerts on this tree meanwhile (its 100 workers repeat calls): compare a first answer
    // with a whole detail read while nothing changed (the same whole detail before and after it).
    let whole!: TraceDetailResponse;
    let head!: TraceDetailResponse;
    await eventually(async () => {
      whole = await read(detailUrl);
      head = await read(`${detailUrl}?first=40`);
      const again = await read(detailUrl);
      return JSON.stringify(again) === JSON.stringify(whole) ? true : undefined;
    }, 60_000, 'a detail that holds still between two reads');
    expect(whole.partial).toBeUndefined();
    expect(whole.spans.length).toBe(10_001);
    expect(head.partial).toBe(true);
    expect(head.cursor).toBeNull();
    expect(head.trace).toEqual(whole.trace);
    expect(head.spans).toEqual(whole.spans.slice(0, 40));
    for (const bad of ['0', '-1', '2.5', 'x', '100000']) expect((await fetch(`${detailUrl}?first=${bad}`)).status).toBe(400);

    // The page's HTML already holds its first rows (drawn before its scripts run), names as text.
    const html = await (await fetch(`${canopy.url}/traces/${traceId}`)).text();
    const htmlRows = html.match(/role="treeitem"/g)?.length ?? 0;
    expect(htmlRows).toBeGreaterThan(10);
    expect(htmlRows).toBeLessThan(150);
    expect(html).toContain('invoke_agent Swarm &lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');

    const { page, dialogs, pageErrors } = await openPage();
    try {
      const t0 = Date.now();
      await page.goto(`${canopy.url}/traces/${traceId}?span=${target}`);
      await page.locator('[role=treeitem]').first().waitFor({ timeout: 60_000 });
      const firstRowsMs = Date.now() - t0;
      console.log(`10,001-span tree: first rows ${firstRowsMs} ms after navigation`);
      // The deep-linked span is selected, its branch opened, scrolled into view, its details open.
      const selected = rowOf(page, target);
      await expect.poll(() => selected.getAttribute('aria-selected'), { timeout: 20_000 }).toBe('true');
      expect(await selected.isVisible()).toBe(true);
      const box = await selected.boundingBox();
      const tree = await page.getByRole('tree').boundingBox();
      expect(box!.y).toBeGreaterThanOrEqual(tree!.y);
      // (It is the last row: scrolled to the end, it ends at the tree's bottom edge, give or take a pixel's fraction.)
      expect(box!.y + box!.height).toBeLessThanOrEqual(tree!.y + tree!.height + 0.5);
      expect(await page.getByTestId('span-details').locator('.details-name').textContent()).toBe('chat gpt-4o');
      // Only a window of rows exists in the DOM.
      expect(await page.locator('[role=treeitem]').count()).toBeLessThan(150);
      // The root's name is text, in the tree and in the title.
      expect(await page.locator('.trace-title').textContent()).toBe(`invoke_agent Swarm ${XSS}`);
      await page.getByRole('tree').press('Home');
      expect(await page.locator('[role=treeitem]').first().locator('.span-name').textContent()).toBe(`invoke_agent Swarm ${XSS}`);
      expect(await page.locator('img').count()).toBe(0);
      // Search within the tree finds the workers.
      await page.getByLabel('Search in this tree').fill('Worker-42');
      await page.getByLabel('Search in this tree').press('Enter');
      await expect.poll(() => page.getByTestId('tree-matches').textContent()).toBe('1 of 1↑↓');
      expect(await page.locator('.tree-row.is-selected .span-name').textContent()).toBe('invoke_agent Worker-42');
      // Its many alerts (one per repeating worker): three in the header, the rest folded, listed once unfolded.
      const more = page.getByTestId('open-alerts').locator('.more-alerts');
      const folded = Number(/^(\d+) more open alerts?$/.exec((await more.locator('summary').textContent()) ?? '')?.[1]);
      expect(folded).toBeGreaterThan(0);
      expect(await more.locator('li').count()).toBe(0);
      await more.locator('summary').click();
      await expect.poll(() => more.locator('li').count()).toBe(folded);
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'big', err);
    } finally {
      await page.close();
    }
  }, 300_000);

  it('the list sorts by its headers, filters by status, open alerts and time, and polls only its first page', async () => {
    const service = `ui-list-${Date.now()}`;
    // 60 small trees (past one page of 50), one with an error, then one killed.
    const t0 = BigInt(Date.now() - 30_000) * 1_000_000n;
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
    const ids: string[] = [];
    const resourceSpans = Array.from({ length: 60 }, (_, i) => {
      const traceId = hex(32);
      ids.push(traceId);
      return {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ spans: [{ traceId, spanId: hex(16), name: `job-${i}`, kind: 1, startTimeUnixNano: String(t0 + BigInt(i) * 1_000_000n), endTimeUnixNano: String(t0 + BigInt(i + 5) * 1_000_000n), status: i === 7 ? { code: 2, message: 'boom' } : {} }] }],
      };
    });
    const res = await fetch(`${canopy.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans }) });
    expect(res.status).toBe(200);
    await fetch(`${canopy.url}/api/traces/${ids[3]}/kill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test' }) });

    const { page, pageErrors } = await openPage({ width: 1440, height: 900 });
    const requests: URL[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/traces') requests.push(url);
    });
    try {
      await page.goto(`${canopy.url}/?service=${service}`);
      await expect.poll(() => page.locator('tr.trace-row').count(), { timeout: 20_000 }).toBe(50);
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => page.locator('tr.trace-row').count()).toBe(60);
      // Live: every read since is of the first page only, and the loaded rows stay.
      const mark = requests.length;
      await page.waitForTimeout(5000);
      const polls = requests.slice(mark);
      expect(polls.length).toBeGreaterThanOrEqual(2);
      expect(polls.every((u) => u.searchParams.get('cursor') === null)).toBe(true);
      expect(await page.locator('tr.trace-row').count()).toBe(60);

      // A header sorts; a click again reverses it.
      await page.getByRole('button', { name: /^Started: sort/ }).click();
      await expect.poll(() => requests.at(-1)!.searchParams.get('sort')).toBe('start');
      await expect.poll(() => page.locator('th[aria-sort=descending]').textContent()).toBe('Started');
      await expect.poll(() => page.locator('tr.trace-row .trace-link').first().textContent()).toBe('job-59');
      await page.getByRole('button', { name: /^Started: sort/ }).click();
      await expect.poll(() => page.locator('tr.trace-row .trace-link').first().textContent()).toBe('job-0');
      expect(requests.at(-1)!.searchParams.get('order')).toBe('asc');

      // Status: killed, then error.
      await page.getByLabel('Status').selectOption('killed');
      await expect.poll(() => page.locator('tr.trace-row').count(), { timeout: 10_000 }).toBe(1);
      expect(await page.locator('tr.trace-row').getAttribute('data-trace-id')).toBe(ids[3]);
      expect(await page.locator('tr.trace-row [data-status]').getAttribute('data-status')).toBe('killed');
      expect(new URL(page.url()).searchParams.get('status')).toBe('killed');
      await page.getByLabel('Status').selectOption('error');
      await expect.poll(() => page.locator('tr.trace-row .trace-link').allTextContents(), { timeout: 10_000 }).toEqual(['job-7']);
      // Open alerts: none of these trees has one.
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('With open alerts').check();
      await page.getByText('No traces match these filters').waitFor({ timeout: 10_000 });
      await page.getByLabel('With open alerts').uncheck();
      // Active in the last 15 minutes: all of them; the API got the range.
      await page.getByLabel('Active within').selectOption('15m');
      await expect.poll(() => requests.at(-1)!.searchParams.get('within')).toBe('15m');
      await expect.poll(() => page.locator('tr.trace-row').count(), { timeout: 10_000 }).toBe(50);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'list', err);
    } finally {
      await page.close();
    }
  }, 120_000);
});

describe('an empty Canopy', () => {
  it('tells a newcomer the OTLP endpoint it really listens on, and how to run the simulator', async () => {
    const port = await freePort();
    const empty = await startCanopy({ env: { CANOPY_OTLP_PORT: String(port) } });
    const { page, pageErrors } = await openPage();
    try {
      expect((await getJson<{ otlpPort: number }>(`${empty.url}/api/health`)).body.otlpPort).toBe(port);
      await page.goto(`${empty.url}/`);
      await page.getByTestId('empty-state').waitFor({ timeout: 20_000 });
      await expect.poll(() => page.getByTestId('otlp-endpoint').textContent()).toBe(`export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${port}`);
      expect(await page.getByTestId('simulate-command').textContent()).toBe(
        `npm run simulate -- --endpoint http://127.0.0.1:${port} --api ${empty.url} --scenario normal,loop,fanout`,
      );
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await empty.stop();
    }
  }, 120_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}


describe('a tree too large to show whole', () => {
  it('is looked at by its first span while nothing changes, and read whole again once a span is stored', async () => {
    const small = await startCanopy({ env: { CANOPY_TRACE_MAX_BYTES: String(64 * 1024), CANOPY_DETECTOR: 'off' } });
    const { page, pageErrors } = await openPage();
    try {
      const rec = recordingTracer(`ui-truncated-${Date.now()}`);
      const root = startSpan(rec.tracer, 'invoke_agent Big', agent('Big'));
      for (let i = 0; i < 300; i++) startSpan(rec.tracer, `chat big-${i}`, llm(10, 1, `a prompt long enough to weigh something, number ${i}`), root).end();
      root.end();
      const traceId = root.spanContext().traceId;
      await flush(rec, small);
      await eventually(async () => ((await findTrace(small.url, traceId))?.spanCount === 301 ? true : undefined), 20_000, 'the tree stored');

      const reads: string[] = [];
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname === `/api/traces/${traceId}`) reads.push(u.search);
      });
      const whole = () => reads.filter((q) => q === '').length;
      await page.goto(`${small.url}/traces/${traceId}`);
      await page.getByText(/too large to show whole/).waitFor({ timeout: 20_000 });
      // Two polls (every 10 s) with nothing stored: each asks for the first span only.
      await expect.poll(() => reads.filter((q) => q === '?first=1').length, { timeout: 30_000, interval: 1000 }).toBeGreaterThanOrEqual(2);
      expect(whole()).toBe(1);

      // A span stored since: the next poll reads the tree whole again, and the page counts it.
      startSpan(rec.tracer, 'chat late', llm(10, 1, 'late'), root).end();
      await flush(rec, small);
      await expect.poll(whole, { timeout: 30_000, interval: 1000 }).toBe(2);
      await expect.poll(() => page.locator('.trace-summary').textContent(), { timeout: 10_000 }).toContain('302');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'truncated', err);
    } finally {
      await page.close();
      await small.stop();
    }
  }, 180_000);
});

