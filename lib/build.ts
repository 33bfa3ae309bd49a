import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** `npm start` on a fresh clone: build the UI once when no production build is present. */
export function ensureBuild(dir: string, log: (e: Record<string, unknown>) => void): void {
  if (fs.existsSync(path.join(dir, '.next', 'BUILD_ID'))) return;
  log({ event: 'building', message: 'No production build found; running `next build` once (about a minute)' });
  const nextBin = path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next');
  const result = spawnSync(process.execPath, [nextBin, 'build'], { cwd: dir, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('`next build` failed; see its output above');
}
