// Browser test of the UI shell: real server (server.ts) + real OTLP exporter + headless Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Attributes } from '@opentelemetry/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, hex as idsOf, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { findTrace, waitForTrace } from './helpers/api';

const XSS = '<img src=x onerror=alert(1)>';

const llm = (input: number, output: number): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.system': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.response.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': input,
  'gen_ai.usage.output_tokens': output,
});

const tool = (name: string): Attributes => ({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name });

let canopy: RunningCanopy;
let browser: Browser;

beforeAll(async () => {
  canopy = await startCanopy();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await canopy?.stop();
});

/** A page that records anything that would betray script execution or a crash. */
async function openPage(): Promise<{ page: Page; dialogs: string[]; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
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
  const shot = `/tmp/canopy-ui-failure-${name}.png`;
  await page.screenshot({ path: shot }).catch(() => undefined);
  const output = canopy.output().slice(-3000);
  if (err instanceof Error) err.message += `\n(screenshot: ${shot})\n--- server output (tail) ---\n${output}`;
  throw err;
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();

describe('UI', () => {
  it('lists a trace with its tokens, opens its tree with per-branch rollups, and renders span names as text', async () => {
    const service = `ui-test-${Date.now()}`;
    const { tracer, finished } = recordingTracer(service);

    // invoke_agent Planner
    // ├─ chat gpt-4o                      100 / 20
    // ├─ execute_tool search
    // │  └─ chat gpt-4o                   200 / 50
    // └─ execute_tool fetch <img …>
    //    └─ chat gpt-4o                   300 / 70
    const root = startSpan(tracer, 'invoke_agent Planner', {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'Planner',
    });
    startSpan(tracer, 'chat gpt-4o', llm(100, 20), root).end();
    const search = startSpan(tracer, 'execute_tool search', tool('search'), root);
    startSpan(tracer, 'chat gpt-4o', llm(200, 50), search).end();
    search.end();
    const fetchTool = startSpan(tracer, `execute_tool fetch ${XSS}`, { ...tool('fetch'), 'test.payload': XSS }, root);
    startSpan(tracer, 'chat gpt-4o', llm(300, 70), fetchTool).end();
    fetchTool.end();
    root.end();
    const traceId = root.spanContext().traceId;
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), finished());

    const { page, dialogs, pageErrors } = await openPage();
    try {
      // --- trace list ---
      await page.goto(`${canopy.url}/`);
      await expect(page.locator('.brand').textContent()).resolves.toContain('Canopy');
      await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });
      expect(await text(page, '.health')).toMatch(/Embedded storage/);

      // The list is live: the trace appears without a reload once ingested.
      const row = page.locator(`tr[data-trace-id="${traceId}"]`);
      await row.waitFor({ timeout: 30_000 });
      // Spans may land in more than one batch: wait for the full totals.
      await expect.poll(() => row.locator('[data-col=tokens-in]').textContent(), { timeout: 15_000 }).toBe('600');
      expect(await row.locator('[data-col=tokens-out]').textContent()).toBe('140');
      expect(await row.locator('.trace-link').textContent()).toBe('invoke_agent Planner');
      expect(await row.textContent()).toContain(service);
      // gpt-4o is priced; either way the cost cell never pretends an unpriced call is free.
      expect(await row.locator('[data-col=cost]').textContent()).toMatch(/\$\d|unpriced/);
      await page.screenshot({ path: '/tmp/canopy-ui-list.png' });

      // --- trace page ---
      await row.locator('.trace-link').click();
      await page.waitForURL(`**/traces/${traceId}`);
      await page.getByRole('tree').waitFor();
      const treeRow = (name: string) => page.locator('[role=treeitem]').filter({ has: page.locator('.span-name', { hasText: name }) });

      const rootRow = treeRow('invoke_agent Planner');
      await expect.poll(() => rootRow.locator('[data-col=rollup-tokens]').textContent(), { timeout: 15_000 }).toBe('600/140');
      expect(await page.locator('[role=treeitem]').count()).toBe(6);

      // Per-branch spend: each tool's subtree carries its own LLM call's tokens.
      const searchRow = treeRow('execute_tool search');
      expect(await searchRow.locator('[data-col=rollup-tokens]').textContent()).toBe('200/50');
      expect(await searchRow.getAttribute('aria-level')).toBe('2');
      const fetchRow = treeRow('execute_tool fetch');
      expect(await fetchRow.locator('[data-col=rollup-tokens]').textContent()).toBe('300/70');
      // The tool span has no cost of its own.
      expect(await fetchRow.locator('[data-col=own-cost]').textContent()).toBe('—');

      // The script-looking name is literal text, not markup.
      expect(await fetchRow.locator('.span-name').textContent()).toBe(`execute_tool fetch ${XSS}`);

      // Collapsing a branch hides its children; expanding brings them back.
      await searchRow.locator('button.caret').click();
      expect(await page.locator('[role=treeitem]').count()).toBe(5);
      await searchRow.locator('button.caret').click();
      expect(await page.locator('[role=treeitem]').count()).toBe(6);

      // Clicking a row opens its details, attributes included, still as text.
      await fetchRow.click();
      const details = page.getByTestId('span-details');
      await details.waitFor();
      expect(await details.locator('.details-name').textContent()).toBe(`execute_tool fetch ${XSS}`);
      const payloadRow = details.locator('.attr-table tr').filter({ hasText: 'test.payload' });
      expect(await payloadRow.locator('.attr-value').textContent()).toBe(XSS);
      await page.screenshot({ path: '/tmp/canopy-ui-trace.png' });

      expect(await page.locator('img').count()).toBe(0);
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'small', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('updates live: a new trace appears in the open list, and its open tree fills in as spans arrive, keeping selection and collapsed branches', async () => {
    const { tracer, finished, reset } = recordingTracer(`ui-live-${Date.now()}`);
    const exporter = exporterFor(canopy.otlpUrl, 'proto');
    const root = startSpan(tracer, 'invoke_agent Live', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Live' });
    const traceId = root.spanContext().traceId;
    const treeRow = (page: Page, name: string) => page.locator('[role=treeitem]').filter({ has: page.locator('.span-name', { hasText: name }) });

    const { page, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/`);
      await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });

      // First batch: a finished step with a model call under it; the root is still open, so the step's
      // parent has not arrived: while the tree runs, that is "parent pending", not an orphan.
      const step = startSpan(tracer, 'invoke_agent Step', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Step' }, root);
      startSpan(tracer, 'chat gpt-4o', llm(40, 4), step).end();
      step.end();
      await sendOk(exporter, finished());
      reset();
      const row = page.locator(`tr[data-trace-id="${traceId}"]`);
      await row.waitFor({ timeout: 20_000 }); // no reload: the list polls
      expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('running');

      await row.locator('.trace-link').click();
      await page.waitForURL(`**/traces/${traceId}`);
      const rows = page.locator('[role=treeitem]');
      // The root stands above the step by the id it will have, until it arrives.
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
      expect(await page.locator('[role=treeitem][data-pending-parent=pending]').getAttribute('data-span-id')).toBe(root.spanContext().spanId);
      const stepRow = treeRow(page, 'invoke_agent Step');
      expect(await stepRow.getAttribute('aria-level')).toBe('2');
      expect(await stepRow.locator('.badge.parent-pending').count()).toBe(1);
      expect(await stepRow.locator('.badge.orphan').count()).toBe(0);
      // Collapse the step and select it: both must survive the refreshes that follow.
      await stepRow.locator('button.caret').click();
      await stepRow.click();
      expect(await rows.count()).toBe(2);

      // Second batch: a tool call; the root is still open, the trace still running.
      startSpan(tracer, 'execute_tool lookup', tool('lookup'), root).end();
      await sendOk(exporter, finished());
      reset();
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
      expect(await stepRow.getAttribute('aria-selected')).toBe('true');
      expect(await stepRow.getAttribute('aria-expanded')).toBe('false');

      // Third batch: the root. The open tree re-parents and fills in by itself, the step still collapsed.
      root.end();
      await sendOk(exporter, finished());
      await expect.poll(() => page.locator('[role=treeitem][aria-level="1"] .span-name').textContent(), { timeout: 20_000 }).toBe('invoke_agent Live');
      expect(await rows.count()).toBe(3);
      expect(await page.locator('.badge.orphan, .badge.parent-pending').count()).toBe(0);
      expect(await stepRow.getAttribute('aria-level')).toBe('2');
      expect(await stepRow.getAttribute('aria-selected')).toBe('true');
      expect(await stepRow.getAttribute('aria-expanded')).toBe('false');
      const rootRow = page.locator('[role=treeitem][aria-level="1"]');
      expect(await rootRow.locator('[data-col=rollup-tokens]').textContent()).toBe('40/4');
      await stepRow.locator('button.caret').click();
      expect(await rows.count()).toBe(4);
      await expect.poll(() => page.locator('.trace-summary [data-status]').getAttribute('data-status')).toBe('completed');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'live', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it("shows the API's tree order and depths, orphans grouped below the tree, a parent cycle included", async () => {
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
    const traceId = hex(32);
    const t0 = BigInt(Date.now() - 60_000) * 1_000_000n;
    const ids: Record<string, string> = {};
    const id = (name: string) => (ids[name] ??= hex(16));
    const span = (name: string, parent: string | null, startMs: number, endMs: number) => ({
      traceId,
      spanId: id(name),
      ...(parent ? { parentSpanId: id(parent) } : {}),
      name,
      kind: 1,
      startTimeUnixNano: String(t0 + BigInt(startMs) * 1_000_000n),
      endTimeUnixNano: String(t0 + BigInt(endMs) * 1_000_000n),
    });
    // root ─┬─ a ── a1          second-root (a root that starts after the orphan)
    //       └─ b                orphan ── orphan-kid   (parent "missing" never arrives)
    //                           cycle-x ⇄ cycle-y      (each claims the other as parent)
    // Sent shuffled: the order on screen must come from the API, not from the order of arrival.
    const spans = [
      span('orphan-kid', 'orphan', 6, 7),
      span('b', 'root', 20, 30),
      span('cycle-x', 'cycle-y', 40, 41),
      span('a1', 'a', 12, 14),
      span('second-root', null, 8, 50),
      span('orphan', 'missing', 5, 9),
      span('root', null, 0, 100),
      span('cycle-y', 'cycle-x', 42, 43),
      span('a', 'root', 10, 15),
    ];
    const res = await fetch(`${canopy.otlpUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ui-order' } }] }, scopeSpans: [{ spans }] }] }),
    });
    expect(res.status).toBe(200);
    const api = await waitForTrace(canopy.url, traceId, spans.length);
    const apiNames = api.spans.map((s) => s.name);
    // The API's own order: depth-first, children by start, tops by start, the cycle last.
    expect(apiNames.slice(0, 7)).toEqual(['root', 'a', 'a1', 'b', 'orphan', 'orphan-kid', 'second-root']);
    expect(new Set(apiNames.slice(7))).toEqual(new Set(['cycle-x', 'cycle-y']));
    // What the UI shows: that order, the orphan subtrees (the cycle's too) moved whole below the rooted trees.
    const tops = api.spans.flatMap((s, i) => (s.depth === 0 ? [i] : []));
    const blocks = tops.map((start, k) => api.spans.slice(start, tops[k + 1]));
    const expected = [...blocks.filter((b) => !b[0].orphan), ...blocks.filter((b) => b[0].orphan)].flat();
    expect(expected.map((s) => s.name).slice(0, 5)).toEqual(['root', 'a', 'a1', 'b', 'second-root']);

    const { page, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/traces/${traceId}`);
      const rows = page.locator('[role=treeitem]');
      // The orphan whose parent never arrived sits under a row standing for that parent.
      await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(spans.length + 1);
      const shown = await rows.evaluateAll((els) =>
        els.map((el) => ({
          spanId: el.getAttribute('data-span-id'),
          level: Number(el.getAttribute('aria-level')),
          orphan: el.querySelector('.badge.orphan') !== null,
          expanded: el.getAttribute('aria-expanded'),
        })),
      );
      const rowOf = (name: string) => page.locator(`[role=treeitem][data-span-id="${id(name)}"]`);
      const present = new Set(api.spans.map((s) => s.spanId));
      let underMissing = false;
      expect(shown).toEqual(
        expected.flatMap((s) => {
          const out = [];
          if (s.depth === 0) {
            underMissing = s.orphan && s.parentSpanId !== null && !present.has(s.parentSpanId);
            if (underMissing) out.push({ spanId: s.parentSpanId, level: 1, orphan: false, expanded: 'true' });
          }
          const level = s.depth + 1 + (underMissing ? 1 : 0);
          out.push({ spanId: s.spanId, level, orphan: s.orphan, expanded: api.spans.some((c) => c.parentSpanId === s.spanId && c.depth === s.depth + 1) ? 'true' : null });
          return out;
        }),
      );
      expect(await rowOf('missing').getAttribute('data-pending-parent')).toBe('missing');
      // The tree is finished: the orphans' parents are missing, not pending.
      expect(await text(page, '.tree-toolbar')).toContain('2 missing parent');

      // Collapsing a row hides exactly the rows below it with a greater depth.
      await rowOf('root').locator('button.caret').click();
      expect(await rows.count()).toBe(spans.length + 1 - 3);
      expect(await rowOf('second-root').count()).toBe(1);
      await rowOf('root').locator('button.caret').click();
      // Arrow-left from a leaf goes to its parent, the row above it at one level less.
      await rowOf('a1').click();
      await page.getByRole('tree').press('ArrowLeft');
      expect(await rowOf('a').getAttribute('aria-selected')).toBe('true');
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'order', err);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('renders a 10,000-span tree through a window of rows', async () => {
    const { tracer, finished } = recordingTracer(`ui-big-${Date.now()}`);
    const root = startSpan(tracer, 'invoke_agent Swarm', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Swarm' });
    const AGENTS = 100;
    const PER_AGENT = 99; // 1 + 100 * (1 + 99) = 10,001 spans
    for (let a = 0; a < AGENTS; a++) {
      const agent = startSpan(tracer, `invoke_agent Worker-${a}`, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': `Worker-${a}` }, root);
      for (let c = 0; c < PER_AGENT; c++) {
        const attrs = c % 3 === 0 ? tool('grep') : llm(10, 1);
        startSpan(tracer, c % 3 === 0 ? 'execute_tool grep' : 'chat gpt-4o', attrs, agent).end();
      }
      agent.end();
    }
    root.end();
    const traceId = root.spanContext().traceId;
    const spans = finished();
    const total = spans.length;
    expect(total).toBe(10_001);
    const exporter = exporterFor(canopy.otlpUrl, 'proto');
    for (let i = 0; i < spans.length; i += 2000) await sendOk(exporter, spans.slice(i, i + 2000));
    await eventually(async () => ((await findTrace(canopy.url, traceId))?.spanCount === total ? true : undefined), 60_000, 'all spans stored');

    const { page, pageErrors } = await openPage();
    try {
      await page.goto(`${canopy.url}/traces/${traceId}`);
      await page.locator('[role=treeitem]').first().waitFor({ timeout: 30_000 });
      // Each worker's identical calls (no prompt recorded: the same model and name) are one row until opened.
      await expect.poll(() => text(page, '.tree-toolbar'), { timeout: 10_000 }).toContain('10,001 spans · 101 shown · 200 repeated calls');

      // Only a window of rows exists in the DOM, however long the tree is.
      const domRows = await page.locator('[role=treeitem]').count();
      expect(domRows).toBeGreaterThan(10);
      expect(domRows).toBeLessThan(150);

      // Jump to the last row with the keyboard: it is rendered, the window stays small.
      await page.getByRole('tree').focus();
      await page.keyboard.press('End');
      await page.locator('[role=treeitem][aria-selected=true]').waitFor();
      expect(await page.locator('[role=treeitem]').count()).toBeLessThan(150);
      expect(await page.getByTestId('span-details').count()).toBe(1);

      // Collapse all leaves the root; expanding restores the full tree.
      await page.getByRole('button', { name: 'Collapse all' }).click();
      await expect.poll(() => page.locator('[role=treeitem]').count()).toBe(1);
      await page.getByRole('button', { name: 'Expand all' }).click();
      await expect.poll(() => text(page, '.tree-toolbar')).toContain('10,001 shown');
      await page.screenshot({ path: '/tmp/canopy-ui-big.png' });

      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'big', err);
    } finally {
      await page.close();
    }
  }, 180_000);

  it('asks for the API key when Canopy requires one, then shows the traces', async () => {
    const secured = await startCanopy({ env: { CANOPY_API_KEYS: 'ui-secret' } });
    const { page, pageErrors } = await openPage();
    try {
      const { tracer, finished } = recordingTracer('keyed-service');
      startSpan(tracer, 'invoke_agent Keyed', { 'gen_ai.operation.name': 'invoke_agent' }).end();
      await sendOk(exporterFor(secured.otlpUrl, 'proto', { authorization: 'Bearer ui-secret' }), finished());

      await page.goto(`${secured.url}/`);
      const form = page.locator('.health[data-health="unauthorised"]');
      await form.waitFor({ timeout: 15_000 });
      await page.getByLabel('API key').fill('ui-secret');
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });
      await page.locator('.trace-link', { hasText: 'invoke_agent Keyed' }).waitFor({ timeout: 15_000 });
      // Remembered in this browser: a reload goes straight to the data.
      await page.reload();
      await page.locator('.health[data-health="ok"]').waitFor({ timeout: 15_000 });
      // The trace page's HTML holds no span without the key (tests/hardening.test.ts); its rows come with the key.
      await page.goto(`${secured.url}/traces/${idsOf(finished()[0]).traceId}`);
      await page.locator('[role=treeitem]', { hasText: 'invoke_agent Keyed' }).waitFor({ timeout: 15_000 });
      expect(pageErrors).toEqual([]);
    } catch (err) {
      await diagnose(page, 'api-key', err);
    } finally {
      await page.close();
      await secured.stop();
    }
  }, 60_000);
});
