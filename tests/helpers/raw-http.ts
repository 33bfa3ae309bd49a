import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Sends bytes exactly as given (fetch and curl without --path-as-is normalise the path first, which would
 * hide the very requests these tests are about) and reads one response on a fresh connection.
 */
export function rawRequest(baseUrl: string, request: string | Buffer, opts: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port), localAddress: opts.localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No complete answer within ${opts.timeoutMs ?? 10_000} ms to ${String(request).split('\r\n')[0]}`));
    }, opts.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      const parsed = parseResponse(Buffer.concat(chunks), true);
      if (parsed) resolve(parsed);
      else reject(new Error(`Unparseable answer to ${String(request).split('\r\n')[0]}: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`));
    };
    socket.on('data', (d) => {
      chunks.push(d);
      const parsed = parseResponse(Buffer.concat(chunks));
      if (parsed) {
        clearTimeout(timer);
        socket.destroy();
        resolve(parsed);
      }
    });
    socket.on('end', finish);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(request);
  });
}

/** A GET with the target sent verbatim. */
export function rawGet(baseUrl: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${new URL(baseUrl).host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return rawRequest(baseUrl, lines.join('\r\n') + '\r\n\r\n');
}

/** A complete response (headers plus Content-Length body, or chunked up to its last chunk), else null. */
function parseResponse(data: Buffer, closed = false): RawResponse | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(end + 4);
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return rest.length >= length ? { status, headers, body: rest.subarray(0, length) } : null;
  }
  if (headers['transfer-encoding'] === 'chunked') {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(chunks) };
      if (rest.length < lineEnd + 2 + size + 2) return null;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return closed ? { status, headers, body: rest } : null; // a body that runs until the connection closes
}
