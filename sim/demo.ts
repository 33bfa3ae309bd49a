// `npm run demo`: starts Canopy and keeps a gentle mixed workload running against it until Ctrl-C.
// Canopy runs as a child process (server.ts), so this is exactly what `npm start` serves.

import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { startDemoWorkload, type DemoWorkload } from './demo-workload';
import { runMain, stderrLogger } from './run-main';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The first start may build the app first (about a minute). */
const START_TIMEOUT_MS = 5 * 60_000;
const STOP_TIMEOUT_MS = 15_000;

const log = stderrLogger('canopy-demo');

async function main(): Promise<number> {
  const canopy = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    cwd: ROOT,
    env: process.env,
    // stdout is read for the "listening" line and passed through; everything else is inherited.
    stdio: ['inherit', 'pipe', 'inherit'],
    // Its own process group: Ctrl-C reaches only the demo, which stops the workload (flushing its last
    // spans) before it asks Canopy to stop. Otherwise both would get SIGINT at once.
    detached: true,
  });
  process.on('exit', () => {
    if (canopy.exitCode === null && canopy.signalCode === null) canopy.kill('SIGTERM');
  });
  const exited = new Promise<number>((resolve) => canopy.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

  const listening = new Promise<{ url: string; otlpUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Canopy did not report "listening" within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    readline.createInterface({ input: canopy.stdout! }).on('line', (line) => {
      process.stdout.write(`${line}\n`);
      try {
        const event = JSON.parse(line) as { event?: string; url?: string; otlpUrl?: string };
        if (event.event === 'listening' && event.url && event.otlpUrl) {
          clearTimeout(timer);
          resolve({ url: event.url, otlpUrl: event.otlpUrl });
        }
      } catch {
        // Not a JSON log line (e.g. Next.js build output).
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Canopy exited with code ${code} before it was listening`));
    });
  });

  let workload: DemoWorkload | null = null;
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('stopping the workload, then Canopy');
    await workload?.stop();
    if (canopy.exitCode === null) canopy.kill('SIGTERM');
    const timer = setTimeout(() => canopy.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    void stop();
  });
  process.on('SIGTERM', () => void stop());

  let urls: { url: string; otlpUrl: string };
  try {
    urls = await listening;
  } catch (err) {
    log((err as Error).message);
    if (canopy.exitCode === null) canopy.kill('SIGTERM');
    return 1;
  }
  if (stopping) return await exited;

  log(`Canopy is up: open ${urls.url} (OTLP on ${urls.otlpUrl}). Sending live agent traffic: mostly normal requests,`);
  log('now and then a runaway (loop, cost spike, ping-pong, retry storm, fan-out, slow burn, deep). Ctrl-C stops both.');
  // With keys configured, the demo's agents authenticate like any client would, with the first key.
  const apiKey = process.env.CANOPY_API_KEY || (process.env.CANOPY_API_KEYS ?? '').split(',')[0]?.trim() || undefined;
  workload = startDemoWorkload({ url: urls.url, otlpUrl: urls.otlpUrl, apiKey, log });

  const code = await exited;
  if (!stopping) {
    log(`Canopy exited unexpectedly (code ${code}); stopping the workload`);
    await workload.stop();
    return code || 1;
  }
  return 0;
}

runMain(main, log);
