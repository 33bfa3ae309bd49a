import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface RunningCanopy {
  url: string;
  otlpUrl: string;
  /** OTLP/gRPC, as `http://host:port` (what a gRPC exporter's endpoint setting takes). */
  otlpGrpcUrl: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** SIGTERM, then resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, no chance to flush: resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts the real server (server.ts) on free ports with its own data dir, as `npm start` would. */
export async function startCanopy(opts: { env?: Record<string, string>; dataDir?: string; nodeArgs?: string[] } = {}): Promise<RunningCanopy> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-test-'));
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'server.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', PORT: '0', CANOPY_OTLP_PORT: '0', CANOPY_OTLP_GRPC_PORT: '0', CANOPY_DATA_DIR: dataDir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const listening = await new Promise<{ url: string; otlpUrl: string; otlpGrpcUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Canopy did not start within 60 s:\n${output}`)), 60_000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      output += line + '\n';
      try {
        const event = JSON.parse(line);
        if (event.event === 'listening') {
          clearTimeout(timer);
          resolve(event);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Canopy exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    ...listening,
    dataDir,
    process: child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs a command-line Canopy start and returns its exit code and output (for refusal-to-start tests). */
export function runCanopyExpectingExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', PORT: '0', CANOPY_OTLP_PORT: '0', CANOPY_OTLP_GRPC_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Canopy kept running when it should have refused to start:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
