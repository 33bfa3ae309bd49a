// A ClickHouse HTTP endpoint served by the real engine (chDB), for testing Canopy's server mode
// (CLICKHOUSE_URL) where no ClickHouse server can be installed: Debian ships 18.16, which predates Map and
// DateTime64. It speaks the part of the HTTP interface the official client uses, and holds requests to it the
// way a server does, so a wrong setting or database fails a test here as it would in production:
// - GET /ping; POST with the statement in the body, or in `query` (then the body is the INSERT's data);
//   `param_<name>` values; Basic, X-ClickHouse-User/Key or `user`/`password` auth.
// - `database` (or X-ClickHouse-Database) is the request's current database: an unknown one is refused with
//   the server's error (Code: 81 UNKNOWN_DATABASE, HTTP 404).
// - Every other URL parameter that is not part of the protocol is a setting, applied to this request only;
//   an unknown setting or a value the engine cannot take is refused as the server refuses it (Code: 115
//   UNKNOWN_SETTING, HTTP 404; a bad value with its parse error). Each request runs on a connection of its
//   own, so neither a setting nor the database carries over to the next request (a server has no state
//   between requests without `session_id`, which this endpoint does not implement and refuses).
// - Errors are "Code: N. DB::Exception: ..." with the HTTP status the server gives that code.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

interface ChdbSession {
  queryBindAsync(sql: string, params: Record<string, string>, opts?: { format?: string }): Promise<{ bytes(): Uint8Array }>;
  close(): void;
}
const { Session } = createRequire(import.meta.url)('chdb') as { Session: new (path: string) => ChdbSession };

export interface ClickHouseHttp {
  url: string;
  requests: number;
  /** Runs SQL directly on the engine behind the endpoint (what is really stored), in database `default`. */
  query(sql: string): Promise<string>;
  close(): Promise<void>;
}

/** URL parameters of the HTTP protocol itself; every other one (but `param_*`) is a setting. */
const PROTOCOL_PARAMS = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'quota_key', 'stacktrace', 'buffer_size',
  'wait_end_of_query', 'client_protocol_version', 'role', 'compress', 'decompress',
  'session_id', 'session_timeout', 'session_check', 'close_session',
]);
/** Protocol features this endpoint does not implement: refused rather than silently ignored. */
const NOT_IMPLEMENTED = ['session_id', 'role', 'compress', 'decompress'];

/** The HTTP status a ClickHouse server answers an exception code with (HTTPHandler's mapping). */
function httpStatus(code: number): number {
  if (code === 194) return 401; // REQUIRED_PASSWORD
  if ([192, 193, 497, 516].includes(code)) return 403; // UNKNOWN_USER, WRONG_PASSWORD, ACCESS_DENIED, AUTHENTICATION_FAILED
  // Parse and syntax errors, bad data: SYNTAX_ERROR, CANNOT_PARSE_*, TYPE_MISMATCH, INCORRECT_DATA, out of range.
  if ([6, 25, 26, 27, 38, 41, 53, 62, 72, 117, 321].includes(code)) return 400;
  // UNKNOWN_FUNCTION, UNKNOWN_IDENTIFIER, UNKNOWN_TYPE, UNKNOWN_TABLE, UNKNOWN_FORMAT, UNKNOWN_DATABASE, UNKNOWN_SETTING.
  if ([46, 47, 50, 60, 73, 81, 115].includes(code)) return 404;
  if (code === 48) return 501; // NOT_IMPLEMENTED
  if (code === 159) return 408; // TIMEOUT_EXCEEDED
  return 500;
}

class EngineError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message.startsWith('Code:') ? message : `Code: ${code}. DB::Exception: ${message}`);
  }
}

function engineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(Number(/Code: (\d+)/.exec(message)?.[1] ?? 1000), message);
}

/** The client sends parameter values in TSV-escaped text; the engine binding escapes them again. */
function tsvUnescape(s: string): string {
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0', '\\': '\\', "'": "'" };
  return s.replace(/\\(.)/g, (_m, c: string) => map[c] ?? c);
}

const quoteIdentifier = (name: string) => '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
const quoteString = (value: string) => "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function startClickHouseHttp(auth: { user: string; password: string }): Promise<ClickHouseHttp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-ch-http-'));
  // Holds the data directory for the endpoint's lifetime; each request opens a connection of its own on it.
  const session = new Session(dir);
  const state = { requests: 0 };

  /** One request's statement on a fresh connection: its database and settings, then the statement. */
  const running = new Set<Promise<unknown>>();
  async function run(sql: string, params: Record<string, string>, database: string | undefined, settings: [string, string][], format: string) {
    const connection = new Session(dir);
    try {
      if (database !== undefined) await connection.queryBindAsync(`USE ${quoteIdentifier(database)}`, {});
      for (const [name, value] of settings) {
        if (!SETTING_NAME.test(name)) throw new EngineError(115, `Unknown setting '${name}'. (UNKNOWN_SETTING)`);
        await connection.queryBindAsync(`SET ${name} = ${quoteString(value)}`, {});
      }
      return Buffer.from((await connection.queryBindAsync(sql, params, { format })).bytes());
    } finally {
      connection.close();
    }
  }

  const server = http.createServer(async (req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping') return void res.end('Ok.\n');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const fail = (err: EngineError) => {
      res.writeHead(httpStatus(err.code), { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': String(err.code) });
      res.end(err.message.endsWith('\n') ? err.message : `${err.message}\n`);
    };

    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, password] = basic
      ? Buffer.from(basic[1], 'base64').toString().split(':')
      : [
          String(req.headers['x-clickhouse-user'] ?? url.searchParams.get('user') ?? 'default'),
          String(req.headers['x-clickhouse-key'] ?? url.searchParams.get('password') ?? ''),
        ];
    if (user !== auth.user || password !== auth.password) {
      return fail(new EngineError(516, `${user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`));
    }
    const unsupported = NOT_IMPLEMENTED.find((p) => url.searchParams.has(p) && !(p.endsWith('compress') && url.searchParams.get(p) === '0'));
    if (unsupported) return fail(new EngineError(48, `The test endpoint does not implement the HTTP parameter '${unsupported}'. (NOT_IMPLEMENTED)`));

    const params: Record<string, string> = {};
    const settings: [string, string][] = [];
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) params[k.slice(6)] = tsvUnescape(v);
      else if (k !== '' && !PROTOCOL_PARAMS.has(k)) settings.push([k, v]);
    }
    const header = req.headers['x-clickhouse-database'];
    const database = (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('database') ?? undefined;
    const format = String(req.headers['x-clickhouse-format'] ?? url.searchParams.get('default_format') ?? 'TabSeparated');
    const statement = url.searchParams.get('query');
    const sql = statement ? `${statement}\n${body}` : body;
    try {
      const pending = run(sql, params, database || undefined, settings, format);
      running.add(pending);
      const result = await pending.finally(() => running.delete(pending));
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-summary': '{}' });
      res.end(result);
    } catch (err) {
      fail(engineError(err));
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
      await Promise.allSettled(running);
      session.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
