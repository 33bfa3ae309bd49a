import fs from 'node:fs';
import path from 'node:path';

/** The data directory cannot be used: the message is one sentence with the path and what to do. */
export class DataDirError extends Error {}

/** Another process holds the engine's lock on the data directory. */
export class DataDirLockedError extends DataDirError {
  constructor(dataDir: string, pid: number) {
    super(
      `The data directory ${dataDir} is in use by another Canopy process (pid ${pid || 'unknown'}); the embedded ClickHouse ` +
        `allows one process per data directory: stop that process or set CANOPY_DATA_DIR to another directory.`,
    );
  }
}

// The engine (ClickHouse's StatusFile) takes an exclusive flock on <dataDir>/status for as long as it has
// the directory open and writes its pid there. The kernel drops a flock when its holder dies (kill -9, and
// before a zombie is reaped), so this lock is never stale, unlike the pid file Canopy used to keep: a pid
// file naming any live process (a reused pid, an unrelated one, a zombie) refused the start.
const ENGINE_LOCK_FILE = 'status';
// Our former pid file: no longer read, removed once the engine has the directory.
const LEGACY_PID_FILE = 'canopy.pid';

const SET_DATA_DIR = 'or set CANOPY_DATA_DIR to another directory';

/** Creates the data directory if needed and checks Canopy can use it, before the engine touches it. */
export function prepareDataDir(dataDir: string): void {
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new DataDirError(`The data directory ${dataDir} cannot be used because it, or a folder above it, is a file: move that file away ${SET_DATA_DIR}.`);
    }
    throw new DataDirError(`The data directory ${dataDir} cannot be created (${describeErrno(err)}): create it writable for the user running Canopy ${SET_DATA_DIR}.`);
  }
  assertNotLocked(dataDir);
  const failure = probeWritableSync(dataDir);
  if (failure) throw new DataDirError(unwritableMessage(dataDir, failure));
}

/** Throws the clear "in use" message when a live process holds the engine's lock on the directory. */
function assertNotLocked(dataDir: string): void {
  const pid = engineLockHolder(dataDir);
  // This process already has the engine open on it (a second openStorage in one process shares it).
  if (pid === null || pid === process.pid) return;
  throw new DataDirLockedError(dataDir, pid);
}

/** After the engine has the directory: the old pid file would only mislead someone reading the directory. */
export function removeLegacyPidFile(dataDir: string): void {
  fs.rmSync(path.join(dataDir, LEGACY_PID_FILE), { force: true });
}

export function unwritableMessage(dataDir: string, failure: string): string {
  return (
    `The data directory ${dataDir} is not writable (${failure}): make it writable for the user running Canopy ` +
    `(check its permissions and owner, read-only mounts, immutable flags and free space) ${SET_DATA_DIR}.`
  );
}

/**
 * Creates and removes a `tmp_` directory in `dir`, as an insert does (the engine writes each part into a
 * fresh tmp_ directory, then renames it), so it fails exactly when inserts would: a read-only mount, an
 * owner or mode that forbids writing, an immutable flag, a full disk. Root ignores permission bits, the
 * kernel still refuses the others. A directory left by a crash is the engine's to clean (tmp_ prefix).
 * Returns why it failed, or null.
 */
export async function probeWritable(dir: string): Promise<string | null> {
  try {
    await fs.promises.rmdir(await fs.promises.mkdtemp(path.join(dir, 'tmp_canopy_write_probe_')));
    return null;
  } catch (err) {
    return describeErrno(err);
  }
}

function probeWritableSync(dir: string): string | null {
  try {
    fs.rmdirSync(fs.mkdtempSync(path.join(dir, 'tmp_canopy_write_probe_')));
    return null;
  } catch (err) {
    return describeErrno(err);
  }
}

const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'not a directory',
  ENOENT: 'it does not exist',
};

function describeErrno(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${ERRNO_TEXT[e.code] ?? e.message}` : String(e?.message ?? err);
}

/**
 * The pid of the process holding the engine's lock on `dataDir`, 0 when it is held by a pid we cannot
 * name, or null when it is free. Linux lists every flock in /proc/locks; elsewhere (or when a container
 * hides it) we cannot see the lock, and answer null so the engine's own refusal decides (see
 * `lockHolderAfterRefusal`).
 */
function engineLockHolder(dataDir: string): number | null {
  const file = path.join(dataDir, ENGINE_LOCK_FILE);
  let stat: fs.BigIntStats;
  let locks: string;
  try {
    stat = fs.statSync(file, { bigint: true });
    locks = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return null;
  }
  // st_dev in the kernel's user-space encoding; /proc/locks prints major:minor in hex.
  const major = ((stat.dev >> 8n) & 0xfffn) | ((stat.dev >> 32n) & ~0xfffn);
  const minor = (stat.dev & 0xffn) | ((stat.dev >> 12n) & ~0xffn);
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 3627 fe:00:2146644 0 EOF"; lines with "->" are waiters, not holders.
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m || BigInt(m[4]) !== stat.ino || BigInt(`0x${m[2]}`) !== major || BigInt(`0x${m[3]}`) !== minor) continue;
    return pidInLockFile(file) ?? Number(m[1]);
  }
  return null;
}

/**
 * The engine refused to open the directory: was it because another process has it? Where /proc/locks is
 * readable its answer is exact; elsewhere the pid the holder wrote, if that process is alive, is the best
 * we know (and only consulted after the engine itself refused, so it can no longer stop a start).
 */
export function lockHolderAfterRefusal(dataDir: string): number | null {
  const seen = engineLockHolder(dataDir);
  if (seen !== null || fs.existsSync('/proc/locks')) return seen;
  const pid = pidInLockFile(path.join(dataDir, ENGINE_LOCK_FILE));
  return pid && pid !== process.pid && isAlive(pid) ? pid : null;
}

function pidInLockFile(file: string): number | null {
  try {
    const pid = Number(/^PID: (\d+)/m.exec(fs.readFileSync(file, 'utf8'))?.[1]);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
