import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, runCanopyExpectingExit, startCanopy, type RunningCanopy } from './helpers/canopy';
import { startClickHouseHttp } from './helpers/clickhouse-http';

// Starting on a data directory: the engine's own lock (a flock the kernel drops when its holder dies)
// decides who owns it; a directory Canopy cannot use stops the start with one sentence, never a stack;
// storage that stops taking writes turns /api/health into a 503 with the reason.

const ROOT = path.resolve(import.meta.dirname, '..');
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-storage-start-'));
const immutable: string[] = [];

// Tests run as root, where permission bits stop nothing. The immutable flag stops root too; it needs a file
// system that supports it (ext4, xfs, btrfs; not tmpfs or overlayfs), so check it really works here.
function setImmutable(dir: string, on: boolean): void {
  // -R follows into every file and directory; the engine's symlinks (data/…) cannot carry the flag: ignored.
  try {
    execFileSync('chattr', ['-R', on ? '+i' : '-i', dir], { stdio: 'ignore' });
  } catch {
    // chattr exits non-zero for the symlinks alone; whether the flag took is checked where it matters
  }
  if (on) immutable.push(dir);
}
const immutableWorks = (() => {
  const dir = tmpDir();
  try {
    setImmutable(dir, true);
    fs.mkdirSync(path.join(dir, 'x'));
    return false;
  } catch {
    return true;
  } finally {
    setImmutable(dir, false);
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();

afterAll(() => {
  for (const dir of immutable) setImmutable(dir, false);
});

/** One sentence to the user: no stack frames, no raw errno dump. */
function expectOneClearSentence(output: string) {
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toMatch(/Error: /);
}

function otlpJson(): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const now = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'storage-start' } }] },
        scopeSpans: [{ spans: [{ traceId: hex(32), spanId: hex(16), name: 'chat', kind: 1, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n) }] }],
      },
    ],
  });
}
const exportStatus = async (canopy: RunningCanopy) =>
  (await fetch(`${canopy.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: otlpJson() })).status;
async function health(canopy: RunningCanopy) {
  const res = await fetch(`${canopy.url}/api/health`);
  return { status: res.status, body: (await res.json()) as { status: string; error?: string } };
}

/** A Canopy on a ClickHouse endpoint served by the real engine in this process (one per process at a time). */
async function startServerMode() {
  const auth = { user: 'canopy', password: 'pw' };
  const ch = await startClickHouseHttp(auth);
  try {
    const canopy = await startCanopy({ env: { CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: auth.user, CLICKHOUSE_PASSWORD: auth.password } });
    return { ch, canopy };
  } catch (err) {
    await ch.close();
    throw err;
  }
}

describe('the data directory lock', () => {
  it('starts although canopy.pid names a live unrelated process (the old pid file is ignored, then removed)', async () => {
    const dataDir = tmpDir();
    // The test runner is alive, and pid 1 always is: the old pid-file lock refused both.
    fs.writeFileSync(path.join(dataDir, 'canopy.pid'), String(process.pid));
    const canopy = await startCanopy({ dataDir });
    try {
      expect((await health(canopy)).status).toBe(200);
      expect(fs.existsSync(path.join(dataDir, 'canopy.pid'))).toBe(false);
    } finally {
      expect(await canopy.stop()).toBe(0);
    }
    fs.writeFileSync(path.join(dataDir, 'canopy.pid'), '1');
    const again = await startCanopy({ dataDir });
    expect(await again.stop()).toBe(0);
  });

  it('refuses a real second Canopy on the same directory with the holder pid, exit 1, no stack', async () => {
    const first = await startCanopy();
    try {
      const { code, output } = await runCanopyExpectingExit({ CANOPY_DATA_DIR: first.dataDir });
      expect(code).toBe(1);
      expect(output).toContain(`The data directory ${first.dataDir} is in use by another Canopy process (pid ${first.process.pid})`);
      expectOneClearSentence(output);
    } finally {
      await first.stop();
    }
  });

  it('takes over the directory of a Canopy killed with -9 that is still an unreaped zombie', async () => {
    const dataDir = tmpDir();
    const log = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
    // The shell starts Canopy, then becomes `sleep`, which never reaps it: after kill -9 it stays a zombie,
    // a pid that `kill(pid, 0)` still finds alive.
    const parent = spawn('sh', ['-c', `"${process.execPath}" --import tsx server.ts >"${log}" 2>&1 & echo $!; exec sleep 120`], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', PORT: '0', CANOPY_OTLP_PORT: '0', CANOPY_OTLP_GRPC_PORT: '0', CANOPY_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
      await eventually(async () => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('"listening"') ? true : undefined), 60_000, 'the first Canopy');
      process.kill(pid, 'SIGKILL');
      await eventually(async () => (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z' ? true : undefined), 10_000, 'a zombie');
      expect(fs.readFileSync(path.join(dataDir, 'status'), 'utf8')).toContain(`PID: ${pid}`);
      const second = await startCanopy({ dataDir });
      expect((await health(second)).status).toBe(200);
      expect(await second.stop()).toBe(0);
    } finally {
      parent.kill('SIGKILL');
      fs.rmSync(log, { force: true });
    }
  });
});

describe('a data directory Canopy cannot use stops the start with one sentence', () => {
  it('is a file, or lies under one', async () => {
    const file = path.join(tmpDir(), 'data');
    fs.writeFileSync(file, 'not a directory');
    for (const dataDir of [file, path.join(file, 'nested')]) {
      const { code, output } = await runCanopyExpectingExit({ CANOPY_DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(output).toContain(`canopy: The data directory ${dataDir} cannot be used because it, or a folder above it, is a file`);
      expect(output).toContain('set CANOPY_DATA_DIR');
      expectOneClearSentence(output);
    }
  });

  it('can make a directory unwritable even for root here (chattr +i), as the next tests need', () => {
    expect(immutableWorks, 'chattr +i must stop writes: run the tests as root on ext4, xfs or btrfs').toBe(true);
  });

  it('is not writable: a new empty directory, and the tables of a used one', async () => {
    const empty = tmpDir();
    setImmutable(empty, true);
    let run = await runCanopyExpectingExit({ CANOPY_DATA_DIR: empty });
    setImmutable(empty, false);
    expect(run.code).toBe(1);
    expect(run.output).toContain(`canopy: The data directory ${empty} is not writable (EPERM: operation not permitted)`);
    expectOneClearSentence(run.output);

    // A used directory whose tables cannot be written: the engine opens and reads it, and migrations have
    // nothing to do, so only the write check stands between this and a Canopy that answers every export 503.
    const used = await startCanopy();
    expect(await exportStatus(used)).toBe(200);
    expect(await used.stop()).toBe(0);
    setImmutable(path.join(used.dataDir, 'store'), true);
    run = await runCanopyExpectingExit({ CANOPY_DATA_DIR: used.dataDir });
    setImmutable(path.join(used.dataDir, 'store'), false);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(new RegExp(`canopy: The data directory ${used.dataDir} is not writable \\(${used.dataDir}/store/\\S+: EPERM`));
    expectOneClearSentence(run.output);
  });
});

describe('health reports storage that stops taking writes', () => {
  it('embedded: 503 with the reason while the tables cannot be written, ok again after', async () => {
    const canopy = await startCanopy();
    try {
      expect(await exportStatus(canopy)).toBe(200);
      expect(await health(canopy)).toMatchObject({ status: 200, body: { status: 'ok' } });
      setImmutable(path.join(canopy.dataDir, 'store'), true);
      // The first failed insert flips health at once; without any export the probe finds it within seconds.
      const unhealthy = await eventually(async () => {
        const h = await health(canopy);
        return h.status === 503 ? h : undefined;
      }, 15_000, 'health to report unwritable storage');
      expect(unhealthy.body.status).toBe('storage_unwritable');
      expect(unhealthy.body.error).toContain(`The data directory ${canopy.dataDir} is not writable`);
      expect(await exportStatus(canopy)).toBe(503);
      expect((await health(canopy)).status).toBe(503);

      setImmutable(path.join(canopy.dataDir, 'store'), false);
      expect(await exportStatus(canopy)).toBe(200); // what an exporter's retry does
      await eventually(async () => ((await health(canopy)).status === 200 ? true : undefined), 15_000, 'health to recover');
    } finally {
      setImmutable(path.join(canopy.dataDir, 'store'), false);
      await canopy.stop();
    }
  });

  it('server mode: 503 with the reason while the server cannot write its tables', async () => {
    const { ch, canopy } = await startServerMode();
    const tableDirs = (await ch.query('SELECT DISTINCT arrayJoin(data_paths) FROM system.tables WHERE database = currentDatabase()')).trim().split('\n');
    try {
      expect(await exportStatus(canopy)).toBe(200);
      expect(await health(canopy)).toMatchObject({ status: 200, body: { status: 'ok' } });
      for (const dir of tableDirs) setImmutable(dir, true);
      expect(await exportStatus(canopy)).toBe(503);
      const h = await health(canopy);
      expect(h.status).toBe(503);
      expect(h.body.status).toBe('storage_unwritable');
      expect(h.body.error).toContain(`Inserts into ClickHouse at ${ch.url} are failing`);

      for (const dir of tableDirs) setImmutable(dir, false);
      expect(await exportStatus(canopy)).toBe(200);
      expect((await health(canopy)).status).toBe(200);
    } finally {
      for (const dir of tableDirs) setImmutable(dir, false);
      await canopy.stop();
      await ch.close();
    }
  });

  it('server mode: 503 with the reason when the server is gone', async () => {
    const { ch, canopy } = await startServerMode();
    let chOpen = true;
    try {
      expect((await health(canopy)).status).toBe(200);
      await ch.close();
      chOpen = false;
      const h = await eventually(async () => {
        const r = await health(canopy);
        return r.status === 503 ? r : undefined;
      }, 15_000, 'health to notice the server is gone');
      expect(h.body.error).toContain(`ClickHouse at ${ch.url} does not accept writes from Canopy`);
    } finally {
      await canopy.stop();
      if (chOpen) await ch.close();
    }
  });
});
