import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

// What the production build is made from: a change to any of these after the build means rebuild.
const SOURCES = ['app', 'components', 'lib', 'public', 'next.config.ts', 'package-lock.json'];

/** `npm start`: build the UI when no production build is present, or when its sources changed since. */
export function ensureBuild(dir: string, log: (e: Record<string, unknown>) => void): void {
  const buildId = path.join(dir, '.next', 'BUILD_ID');
  const builtAt = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : -1;
  if (builtAt >= 0 && newestMtime(dir, SOURCES) <= builtAt) return;
  log({ event: 'building', message: builtAt < 0 ? 'No production build found; running `next build` once' : 'Sources changed since the last build; rebuilding' });
  const nextBin = path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next');
  const result = spawnSync(process.execPath, [nextBin, 'build'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error('`next build` failed; see its output above');
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
