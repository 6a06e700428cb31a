import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'footprint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Records every module the process resolves and prints the list at exit.
const HOOK = path.join(dir, 'record-modules.mjs');
writeFileSync(HOOK, `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.add(r.url); return r; } });
process.on('exit', () => process.stderr.write('MODULES ' + JSON.stringify([...seen]) + '\\n'));
`);

function modulesLoadedBy(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs'), '--import', HOOK, path.join(REPO_ROOT, 'bin/main.ts'), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'test' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = r.stderr.split('\n').find((l) => l.startsWith('MODULES '));
  if (!line) throw new Error(`no module list: ${r.stderr}`);
  return JSON.parse(line.slice('MODULES '.length)) as string[];
}

describe('what the binary loads', () => {
  it("the product's commands do not carry the emulators, the demo or the o200k_base tokenizer (~65 MB in serve's memory)", () => {
    const loaded = modulesLoadedBy(['--help']);
    expect(loaded.length).toBeGreaterThan(50); // the hook saw the CLI's own modules
    const heavy = loaded.filter((u) => /gpt-tokenizer|\/demo\/|\/emulators\/(openai\/index|ipaas\/index|start-emulators)/.test(u));
    expect(heavy).toEqual([]);
  }, 90_000);
});
