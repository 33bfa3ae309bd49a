import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

// What the production build is made from: a change to any of these after the build means rebuild.
const SOURCES = ['app', 'components', 'lib', 'detector', 'public', 'next.config.ts', 'package-lock.json'];

/**
 * `npm start`: build the UI when no production build is present, or when its sources changed since. Two
 * Canopy processes starting from one checkout (a data dir each) must not build at once (`next build`
 * refuses, and the loser failed to start): the build runs under `flock`, a lock the kernel releases if
 * its holder dies, and whoever gets the lock second checks again and finds the build fresh.
 */
export function ensureBuild(dir: string, log: (e: Record<string, unknown>) => void): void {
  if (isFresh(dir)) return;
  log({ event: 'building', message: builtAt(dir) < 0 ? 'No production build found; running `next build` once' : 'Sources changed since the last build; rebuilding' });
  const self = [process.execPath, '--import', 'tsx', import.meta.filename, dir];
  const lock = path.join(dir, '.next-build.lock');
  const withLock = spawnSync('flock', ['-w', '900', lock, ...self], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  // No flock on this system (it ships with util-linux on every Linux): build without the lock.
  const result = withLock.error ? spawnSync(self[0], self.slice(1), { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] }) : withLock;
  if (result.status !== 0) throw new Error('`next build` failed; see its output above');
}

function buildIfStale(dir: string): number {
  if (isFresh(dir)) return 0;
  const nextBin = path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next');
  return spawnSync(process.execPath, [nextBin, 'build'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] }).status ?? 1;
}

function builtAt(dir: string): number {
  const buildId = path.join(dir, '.next', 'BUILD_ID');
  return fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : -1;
}

function isFresh(dir: string): boolean {
  const at = builtAt(dir);
  return at >= 0 && newestMtime(dir, SOURCES) <= at;
}

function newestMtime(dir: string, entries: string[]): number {
  let newest = 0;
  const stack = entries.map((e) => path.join(dir, e));
  while (stack.length) {
    const p = stack.pop()!;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch {
      continue;
    }
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) stack.push(path.join(p, name));
    else if (stat.mtimeMs > newest) newest = stat.mtimeMs;
  }
  return newest;
}

// Run under the lock by ensureBuild: `node --import tsx lib/server/build.ts <dir>`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(buildIfStale(process.argv[2]));
