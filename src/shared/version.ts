import { createRequire } from 'node:module';

/** The package version, read once from package.json (one level above src/ and dist/src/ alike). */
function readVersion(): string {
  const require = createRequire(import.meta.url);
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'ipaas-openai' && pkg.version) return pkg.version;
    } catch {
      // Not at this depth: try the next.
    }
  }
  return 'unknown';
}

export const PACKAGE_VERSION = readVersion();

/** What `--version` prints: the package and the Node.js it runs on, e.g. `ipaas-openai 0.2.0 (Node.js v24.22.3)`. */
export function versionLine(): string {
  return `ipaas-openai ${PACKAGE_VERSION} (Node.js ${process.version})`;
}
