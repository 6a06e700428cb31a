#!/usr/bin/env node
// Thin launcher: the compiled entry point lives in dist/ (built by `npm ci` / `npm run build`).
import('../dist/bin/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin/main.js')) {
    console.error('ipaas-openai is not built yet: run `npm run build` (npm ci does it for you).');
    process.exit(1);
  }
  throw err;
});
