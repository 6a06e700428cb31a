#!/usr/bin/env node
// postinstall: the project needs Node.js >= 22. Where the Node.js running npm is older (Node 20 is past end
// of life), install Node.js 24 LTS from the npm registry (runtime/, its own lockfile) and link it as
// node_modules/.bin/node, which npm puts first on PATH for `npm start`, `npm test`, `npm run` and `npx`.
// Where Node.js is already >= 22 this downloads and links nothing. Plain CommonJS so that any Node runs it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const MIN_MAJOR = 22;
const root = path.resolve(__dirname, '..');
const runtimeDir = path.join(root, 'runtime');
const binDir = path.join(root, 'node_modules', '.bin');
const isWindows = process.platform === 'win32';
const link = path.join(binDir, isWindows ? 'node.cmd' : 'node');

function fail(message) {
  console.error(`ipaas-openai: ${message}`);
  process.exit(1);
}

function removeOurLink() {
  try {
    const target = isWindows ? fs.readFileSync(link, 'utf8') : fs.readlinkSync(link);
    if (target.includes('runtime')) fs.rmSync(link, { force: true });
  } catch {
    // No link of ours: nothing to remove.
  }
}

// The Node.js that runs npm decides, not the one running this script: once linked, `node` in npm's
// scripts is our own Node.js 24, and judging by it would remove the link on the next `npm install`.
function systemNodeVersion() {
  const npmNode = process.env.npm_node_execpath;
  if (!npmNode || fs.realpathSync(npmNode) === fs.realpathSync(process.execPath)) return process.version;
  const r = spawnSync(npmNode, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : process.version;
}
const systemVersion = systemNodeVersion();
const major = Number(systemVersion.replace(/^v/, '').split('.')[0]);
if (major >= MIN_MAJOR) {
  // A maintained Node.js runs npm: use it, and drop a link left by an earlier install on an older Node.
  removeOurLink();
  process.exit(0);
}

const platform = isWindows ? 'win' : process.platform;
const pkgName = `node-${platform}-${process.arch}`;
const wanted = require(path.join(runtimeDir, 'package.json')).optionalDependencies[pkgName];
if (!wanted) {
  fail(
    `Node.js ${systemVersion} is past end of life and the npm registry has no Node.js 24 package for ${process.platform}-${process.arch}. ` +
      'Install Node.js 24 LTS (or 22) from https://nodejs.org, then run `npm ci` again.',
  );
}

const pkgDir = path.join(runtimeDir, 'node_modules', pkgName);
const binary = path.join(pkgDir, 'bin', isWindows ? 'node.exe' : 'node');
function installedVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

if (installedVersion() !== wanted) {
  // The npm that runs this install, so the same registry, cache and proxy settings apply.
  const npmCli = process.env.npm_execpath;
  const [cmd, args] = npmCli ? [process.execPath, [npmCli]] : [isWindows ? 'npm.cmd' : 'npm', []];
  const started = Date.now();
  const r = spawnSync(cmd, [...args, 'ci', '--prefix', runtimeDir, '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, npm_config_local_prefix: runtimeDir },
  });
  if (r.status !== 0 || installedVersion() !== wanted) {
    fail(`could not install ${pkgName}@${wanted} from the npm registry into runtime/ (npm exited ${r.status}). Check the registry is reachable, or install Node.js 24 LTS yourself and run \`npm ci\` again.`);
  }
  process.stderr.write(`ipaas-openai: fetched ${pkgName}@${wanted} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) {
  fail(`${binary} does not run on this system (${probe.error ? probe.error.message : probe.stderr.trim()}); it needs glibc. Install Node.js 24 LTS (or 22) yourself and run \`npm ci\` again.`);
}

fs.mkdirSync(binDir, { recursive: true });
fs.rmSync(link, { force: true });
if (isWindows) fs.writeFileSync(link, `@"${binary}" %*\r\n`);
else fs.symlinkSync(path.relative(binDir, binary), link);

console.log(
  `ipaas-openai: Node.js ${systemVersion} is past end of life, so npm start, npm test and npx ipaas-openai run on Node.js ${probe.stdout.trim()} from the npm registry (runtime/node_modules/${pkgName}).`,
);
