/**
 * Throwaway PostgreSQL clusters for tests: `initdb` into a fresh temp dir, started on a free loopback
 * port with its socket in that dir, and gone again (server stopped, dir removed) on `stop()` or, if a
 * test crashes first, when the process exits.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresCluster {
  /** The `postgres` database of the cluster (the superuser `postgres`, no password). */
  url: string;
  port: number;
  /** The temp dir holding the data directory, the socket and the server log. */
  dir: string;
  stop(): Promise<void>;
  /** A fresh, empty database (one per test keeps tests apart); returns its URL. */
  createDatabase(name?: string): Promise<string>;
}

/** The directory of `initdb`/`pg_ctl`: from PATH, else the newest /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const initdb = path.join(dir, 'initdb');
    // PATH often holds symlinks (Debian's /usr/local/bin/initdb): pg_ctl and postgres sit next to the real file.
    if (existsSync(initdb)) {
      const real = path.dirname(realpathSync(initdb));
      if (existsSync(path.join(real, 'pg_ctl')) && existsSync(path.join(real, 'postgres'))) return real;
    }
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

/** A loopback port nothing listens on right now (the kernel picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` user. */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('Running as root, but there is no `postgres` user to own the test cluster (the postgresql package creates it).');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

let databases = 0;

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error(
      'These tests need PostgreSQL (initdb, pg_ctl) and none was found on PATH or under /usr/lib/postgresql/*/bin. ' +
        'Install it with `apt-get install -y postgresql` (Debian/Ubuntu; .ci/run does this), or put its bin directory on PATH.',
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'pg-test-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'socket');
  const logFile = path.join(dir, 'server.log');
  mkdirSync(socket);
  let started = false;
  const ctl = path.join(bin, 'pg_ctl');

  // Synchronous, for the process 'exit' event: a test that crashed must not leave a server running.
  const cleanupSync = () => {
    if (started) {
      const [cmd, args] = asOwner(ctl, ['stop', '-D', data, '-m', 'immediate', '-w']);
      try {
        execFileSync(cmd, args, { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanupSync);

  try {
    if (process.getuid?.() === 0) {
      const { uid, gid } = postgresUser();
      for (const p of [dir, socket]) chownSync(p, uid, gid);
    }
    const [initCmd, initArgs] = asOwner(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
    await run(initCmd, initArgs);

    let port = 0;
    for (let tries = 0; ; tries++) {
      port = await freePort();
      const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${socket} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      const [cmd, args] = asOwner(ctl, ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', opts]);
      try {
        await run(cmd, args);
        started = true;
        break;
      } catch (err) {
        // Another process may have taken the port between our probe and the server's bind: try another.
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        if (tries < 3 && /could not (bind|create listen socket)|address already in use/i.test(log)) continue;
        throw new Error(`pg_ctl start failed: ${(err as Error).message}\n${log}`);
      }
    }

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let stopping: Promise<void> | undefined;
    return {
      url,
      port,
      dir,
      stop() {
        stopping ??= (async () => {
          process.off('exit', cleanupSync);
          if (started) {
            const [cmd, args] = asOwner(ctl, ['stop', '-D', data, '-m', 'immediate', '-w']);
            try {
              await run(cmd, args);
            } finally {
              started = false;
            }
          }
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
      async createDatabase(name = `t${process.pid}_${++databases}_${Math.random().toString(36).slice(2, 8)}`) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        } finally {
          await client.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
      },
    };
  } catch (err) {
    process.off('exit', cleanupSync);
    cleanupSync();
    throw err;
  }
}
