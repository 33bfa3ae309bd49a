// A ClickHouse HTTP endpoint served by the real engine (chDB), for testing Canopy's server mode
// (CLICKHOUSE_URL) where no ClickHouse server can be installed: Debian ships 18.16, which predates Map and
// DateTime64. It speaks the part of the HTTP interface the official client uses: GET /ping, POST with the
// statement in the body or in `query` (then the body is the INSERT's data), `param_<name>` values, Basic or
// X-ClickHouse-User/Key auth, and errors as status 500 with "Code: N. DB::Exception: ...". Settings in the
// URL tune performance, not results, and are accepted without being applied.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const { Session } = createRequire(import.meta.url)('chdb') as {
  Session: new (path: string) => {
    queryBindAsync(sql: string, params: Record<string, string>, opts?: { format?: string }): Promise<{ bytes(): Uint8Array }>;
    close(): void;
  };
};

export interface ClickHouseHttp {
  url: string;
  requests: number;
  /** Runs SQL directly on the engine behind the endpoint (what is really stored). */
  query(sql: string): Promise<string>;
  close(): Promise<void>;
}

/** The client sends parameter values in TSV-escaped text; the engine binding escapes them again. */
function tsvUnescape(s: string): string {
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', '\\': '\\', "'": "'" };
  return s.replace(/\\(.)/g, (_m, c: string) => map[c] ?? c);
}

export async function startClickHouseHttp(auth: { user: string; password: string }): Promise<ClickHouseHttp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-ch-http-'));
  const session = new Session(dir);
  const state = { requests: 0 };

  const server = http.createServer(async (req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping') return void res.end('Ok.\n');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');

    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, password] = basic
      ? Buffer.from(basic[1], 'base64').toString().split(':')
      : [String(req.headers['x-clickhouse-user'] ?? 'default'), String(req.headers['x-clickhouse-key'] ?? '')];
    if (user !== auth.user || password !== auth.password) {
      res.writeHead(516, { 'x-clickhouse-exception-code': '516' });
      return void res.end(`Code: 516. DB::Exception: ${user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n`);
    }
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params[k.slice(6)] = tsvUnescape(v);
    const statement = url.searchParams.get('query');
    const sql = statement ? `${statement}\n${body}` : body;
    try {
      const result = await session.queryBindAsync(sql, params, { format: 'TabSeparated' });
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-summary': '{}' });
      res.end(Buffer.from(result.bytes()));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = /Code: (\d+)/.exec(message)?.[1] ?? '1000';
      res.writeHead(500, { 'x-clickhouse-exception-code': code });
      res.end(message.startsWith('Code:') ? message : `Code: ${code}. DB::Exception: ${message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    async query(sql) {
      return Buffer.from((await session.queryBindAsync(sql, {}, { format: 'TabSeparated' })).bytes()).toString('utf8');
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      session.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
