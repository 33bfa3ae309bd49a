// The applications whose requests the simulator traces. Each root name is one workflow with its own
// models and tools, so per-workflow baselines (cost, shape) are stable the way real ones are.

import { MODELS, type ModelSpec } from './models';
import type { Rng } from './random';

export interface ToolTemplate {
  name: string;
  args(rng: Rng): Record<string, unknown>;
}

export interface Workflow {
  agent: string; // the root agent; the root span is `invoke_agent <agent>`
  planner: ModelSpec;
  workers: readonly ModelSpec[];
  subAgents: readonly string[];
  tools: readonly ToolTemplate[];
  retrieval: boolean; // embeds the question before searching
}

const CITIES = ['Lisbon', 'Osaka', 'Toronto', 'Nairobi', 'Tbilisi', 'Oslo', 'Lima', 'Hanoi'];
const TOPICS = ['battery recycling', 'EU AI act', 'sourdough hydration', 'heat pumps', 'tidal power', 'RISC-V', 'microplastics'];
const FILES = ['src/api/orders.ts', 'src/db/pool.ts', 'src/auth/session.ts', 'lib/cache.ts', 'src/billing/invoice.ts'];
const TABLES = ['orders', 'customers', 'events', 'invoices', 'sessions'];

function tool(name: string, args: (rng: Rng) => Record<string, unknown>): ToolTemplate {
  return { name, args };
}

export const WORKFLOWS: readonly Workflow[] = [
  {
    agent: 'SupportTriage',
    planner: MODELS.gpt4o,
    workers: [MODELS.gpt4oMini, MODELS.gpt4oMini, MODELS.haiku],
    subAgents: ['RefundAgent', 'KnowledgeAgent', 'AccountAgent'],
    retrieval: true,
    tools: [
      tool('search_kb', (r) => ({ query: `how to ${r.pick(['reset password', 'change plan', 'export data', 'cancel order'])}`, top_k: 5 })),
      tool('get_order', (r) => ({ order_id: `ord_${r.int(10000, 99999)}` })),
      tool('get_customer', (r) => ({ customer_id: `cus_${r.token(10)}` })),
      tool('create_ticket', (r) => ({ priority: r.pick(['low', 'normal', 'high']), queue: 'billing' })),
    ],
  },
  {
    agent: 'ResearchAssistant',
    planner: MODELS.sonnet,
    workers: [MODELS.haiku, MODELS.haiku, MODELS.sonnet],
    subAgents: ['Researcher', 'FactChecker', 'Summarizer'],
    retrieval: true,
    tools: [
      tool('web_search', (r) => ({ query: `${r.pick(TOPICS)} ${r.pick(['2025', 'review', 'cost', 'study'])}` })),
      tool('fetch_url', (r) => ({ url: `https://example.org/articles/${r.int(1000, 9999)}` })),
      tool('vector_search', (r) => ({ query: r.pick(TOPICS), top_k: r.pick([5, 8, 10]) })),
    ],
  },
  {
    agent: 'CodeReviewer',
    planner: MODELS.gpt41,
    workers: [MODELS.gpt41Mini, MODELS.gpt41Mini, MODELS.gpt4oMini],
    subAgents: ['SecurityReviewer', 'StyleReviewer', 'TestReviewer'],
    retrieval: false,
    tools: [
      tool('read_file', (r) => ({ path: r.pick(FILES) })),
      tool('grep', (r) => ({ pattern: r.pick(['TODO', 'password', 'eval(', 'any']), path: 'src/' })),
      tool('run_linter', (r) => ({ path: r.pick(FILES), fix: false })),
    ],
  },
  {
    agent: 'TravelPlanner',
    planner: MODELS.geminiPro,
    workers: [MODELS.geminiFlash, MODELS.geminiFlash, MODELS.gpt4oMini],
    subAgents: ['FlightAgent', 'HotelAgent', 'ItineraryAgent'],
    retrieval: false,
    tools: [
      tool('search_flights', (r) => ({ from: r.pick(CITIES), to: r.pick(CITIES), date: `2026-0${r.int(1, 9)}-1${r.int(0, 9)}` })),
      tool('search_hotels', (r) => ({ city: r.pick(CITIES), nights: r.int(1, 7) })),
      tool('get_weather', (r) => ({ city: r.pick(CITIES) })),
    ],
  },
  {
    agent: 'DataAnalyst',
    planner: MODELS.gpt4o,
    workers: [MODELS.gpt4oMini, MODELS.gpt41Mini, MODELS.haiku],
    subAgents: ['SqlAgent', 'ChartAgent'],
    retrieval: false,
    tools: [
      tool('run_sql', (r) => ({ query: `select count(*) from ${r.pick(TABLES)} where created_at > now() - interval '${r.int(1, 30)} days'` })),
      tool('describe_table', (r) => ({ table: r.pick(TABLES) })),
      tool('plot_chart', (r) => ({ kind: r.pick(['bar', 'line']), column: r.pick(['revenue', 'signups', 'latency_ms']) })),
    ],
  },
];
