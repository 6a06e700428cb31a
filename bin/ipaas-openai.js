#!/usr/bin/env node
// Thin launcher: the compiled entry point lives in dist/ (built by `npm ci` / `npm run build`).
// Started by a Node.js older than 22 (e.g. `node bin/ipaas-openai.js` with the system's Node 20), it hands
// over to the Node.js 24 that `npm ci` fetched into runtime/ (scripts/ensure-runtime.cjs), so the
// connector always runs on a maintained runtime. Syntax kept plain so that old Node versions parse it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MIN_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);

// V8's heap shape for the connector. Left alone, V8 grows the young generation to 64 MB semi-spaces and lets
// the old space reach ~3.5x the live data between full collections: 360-420 MB under load for ~40 MB of live
// data. These keep the young generation at 8 MB semi-spaces and collect the old space at 1.5x the live data
// (bench/README.md has the figures). IPAAS_OPENAI_V8_FLAGS replaces them ('' = V8's own defaults), and a
// flag already given in NODE_OPTIONS or on node's command line wins over the one here.
const DEFAULT_V8_FLAGS = '--max-semi-space-size=8 --heap-growing-percent=50';
function v8Flags() {
  const wanted = (process.env.IPAAS_OPENAI_V8_FLAGS ?? DEFAULT_V8_FLAGS).split(/\s+/).filter(Boolean);
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((f) => f.split('=')[0].replace(/_/g, '-'));
  return wanted.filter((f) => !given.includes(f.split('=')[0].replace(/_/g, '-')));
}

if (major < MIN_MAJOR) {
  const runtime = fileURLToPath(new URL(`../node_modules/.bin/${process.platform === 'win32' ? 'node.cmd' : 'node'}`, import.meta.url));
  if (!existsSync(runtime)) {
    console.error(
      `error: ipaas-openai needs Node.js ${MIN_MAJOR} or newer; this is ${process.version}, past end of life.\n` +
        'Fix: run `npm ci` in the project folder (it fetches Node.js 24 from the npm registry), or install Node.js 24 LTS.',
    );
    process.exit(2);
  }
  const child = spawn(runtime, [...v8Flags(), fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', shell: process.platform === 'win32' });
  // A terminal's Ctrl-C already reaches the child (same process group); other signals are passed on.
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT']) {
    process.on(sig, () => {
      if (sig !== 'SIGINT' || !process.stdin.isTTY) child.kill(sig);
    });
  }
  child.on('exit', (code, signal) => {
    if (signal) {
      // End the way the child ended, so a supervisor sees the same signal.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    else process.exit(code ?? 1);
  });
} else {
  // Heap flags only take effect when V8 starts: the same process (same pid, same terminal and signals) starts
  // again with them. Where execve is missing (Windows) or refused, the connector runs on V8's defaults.
  const flags = v8Flags();
  if (flags.length > 0 && typeof process.execve === 'function') {
    try {
      process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
    } catch {
      // Runs on as it is.
    }
  }
  // node:sqlite is the store's driver; Node 22 still calls it experimental on first use. Only that warning is dropped.
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning && warning.message ? warning.message : warning).includes('SQLite is an experimental feature')) return;
    return emitWarning.call(process, warning, ...rest);
  };
  import('../dist/bin/main.js').catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin/main.js')) {
      console.error('error: ipaas-openai is not built yet.\nFix: run `npm run build` (npm ci does it for you).');
      process.exit(2);
    }
    throw err;
  });
}
