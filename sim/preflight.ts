// Fails fast with a useful message when nothing listens at the endpoint, instead of letting the exporter
// retry for many seconds and then report a bare ECONNREFUSED.

import net from 'node:net';

export async function checkReachable(endpoint: string, timeoutMs = 3_000): Promise<string | null> {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem: string | null): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`${err.code ?? err.message} at ${host}:${port}`));
  });
}
