// Development measurement: what OTLP/gRPC costs over OTLP/HTTP as a transport, without the engine's noise.
// `node --import tsx scripts/measure-grpc-transport.ts [rounds=3] [requests=600]`
//
// A child process runs the real gRPC server (ingest/grpc/server.ts) or an HTTP receiver reading bodies as
// ingest/receiver.ts does (ingest/body.ts), each handing the export to a stub that answers OK at once: no
// inflating (an ingest worker's job for both transports; a message grpc-js had inflated itself would show here as
// a dearer gRPC), no decode, no ClickHouse. The bench's clients (scripts/bench/) send the bench's gzipped
// ~1,000-span bodies, 32 at a time, closed loop. Prints the server's and the client's CPU µs/span per transport,
// rounds interleaved, and medians.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';

const MAX = 16 << 20;

if (process.argv[2] === '--serve') {
  // The child: one transport, its port on stdout.
  const transport = process.argv[3];
  let port: number;
  if (transport === 'grpc') {
    const { startGrpcServer } = await import('../ingest/grpc/server');
    const ingest = { accept: async () => ({ ok: true as const }) };
    const config = { host: '127.0.0.1', otlpGrpcPort: 0, maxBodyBytes: MAX, bodyTimeoutMs: 30_000, apiKeys: [], maxConnectionsPerClient: 64 };
    const g = await startGrpcServer({ config, ingest, metrics: { grpcRequests: { inc() {} } }, log: () => {} } as never);
    port = g.port;
  } else {
    const { readBody, ReceiveBudget } = await import('../ingest/body');
    const budget = new ReceiveBudget(1 << 30);
    const server = http.createServer(async (req, res) => {
      const body = await readBody(req, MAX, budget, 30_000);
      body.release();
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  }
  process.stdout.write(JSON.stringify({ port }) + '\n');
} else {
  const rounds = Number(process.argv[2] ?? 3);
  const requests = Number(process.argv[3] ?? 600);
  const { buildWorkload } = await import('./bench/workload');
  const { OtlpClient, closedLoop } = await import('./bench/client');
  const { GrpcClient } = await import('./bench/grpc');
  const work = await buildWorkload({ count: 64, spansPerBody: 1000, templateCount: 8 });
  const bodies = Array.from({ length: requests }, (_, i) => work.bodies[i % work.bodies.length]!);

  async function once(transport: 'http' | 'grpc') {
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--serve', transport], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).port)));
    const cpu = () => {
      const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    };
    const url = `http://127.0.0.1:${port}`;
    const client = transport === 'grpc' ? new GrpcClient(url, 32) : new OtlpClient(url, 32);
    await closedLoop(client, bodies.slice(0, 64), 32, { maxMs: 60_000 });
    const s0 = cpu();
    const c0 = process.cpuUsage();
    const run = await closedLoop(client, bodies, 32, { maxMs: 120_000 });
    const s1 = cpu();
    const c1 = process.cpuUsage(c0);
    client.close();
    child.kill();
    return { serverUs: ((s1 - s0) * 1e6) / run.spansAcked, clientUs: (c1.user + c1.system) / run.spansAcked };
  }

  const seen: Record<string, { serverUs: number[]; clientUs: number[] }> = { http: { serverUs: [], clientUs: [] }, grpc: { serverUs: [], clientUs: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? (['grpc', 'http'] as const) : (['http', 'grpc'] as const)) {
      const m = await once(t);
      seen[t]!.serverUs.push(m.serverUs);
      seen[t]!.clientUs.push(m.clientUs);
      console.log(`round ${r + 1} ${t.padEnd(4)} server ${m.serverUs.toFixed(2)} µs/span, client ${m.clientUs.toFixed(2)} µs/span`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const t of ['http', 'grpc']) console.log(`median ${t.padEnd(4)} server ${median(seen[t]!.serverUs).toFixed(2)} µs/span, client ${median(seen[t]!.clientUs).toFixed(2)} µs/span`);
}
