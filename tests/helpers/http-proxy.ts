// A transparent HTTP proxy in front of a running Canopy, for the SDK tests. Nothing is answered here: every
// request goes to Canopy and its response, streamed, comes back. The proxy only counts what passes (how many event
// streams, how many control questions) and can cut every connection and refuse new ones for a while, which is
// Canopy unreachable from an agent's side; it can also be pointed at a restarted Canopy on new ports.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface HttpProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Requests whose path matches, since index `from` of `requests`. */
  count(match: RegExp, from?: number): number;
  setTarget(url: string): void;
  /** Cuts every open connection (event streams included) and refuses new ones until unblock(). */
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<HttpProxy> {
  let upstream = new URL(target);
  let blocked = false;
  const sockets = new Set<Socket>();
  const outgoing = new Set<http.ClientRequest>();
  const requests: ProxiedRequest[] = [];

  const server = http.createServer((req, res) => {
    requests.push({ at: Date.now(), method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    const up = http.request(
      new URL(req.url ?? '/', upstream),
      { method: req.method, headers: { ...req.headers, host: upstream.host }, agent: false },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders();
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      },
    );
    outgoing.add(up);
    up.on('close', () => outgoing.delete(up));
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', (socket: Socket) => {
    if (blocked) return void socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const cut = () => {
    for (const socket of sockets) socket.destroy();
    for (const up of outgoing) up.destroy();
  };
  return {
    url,
    requests,
    count: (match, from = 0) => requests.slice(from).filter((r) => match.test(r.path)).length,
    setTarget: (next) => void (upstream = new URL(next)),
    block: () => {
      blocked = true;
      cut();
    },
    unblock: () => void (blocked = false),
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
