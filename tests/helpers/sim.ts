import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** One tree the simulator CLI printed (the fields the detector tests read). */
export interface SimulatedTree {
  scenario: string;
  traceId: string;
  baselineFor?: string;
}

/** Runs the simulator CLI (`sim/cli.ts`) to completion; resolves the trees it printed, rejects on a non-zero exit. */
export function simulateTrees(args: string[]): Promise<SimulatedTree[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`simulator exited ${code}: ${stderr}`));
      else resolve(stdout.trim().split('\n').map((l) => JSON.parse(l) as SimulatedTree));
    });
  });
}
