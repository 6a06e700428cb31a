import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { openApiDocument } from './openapi.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// The page loads only its own files and talks only to this origin; nothing inline can run.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The page's files (plain HTML, ES modules and CSS: no build step). They sit beside this
 * module in src/; the compiled service in dist/ reads them from src/ too.
 */
export function dashboardDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'dashboard'), path.resolve(here, '../../../src/server/dashboard')];
  const found = candidates.find((d) => existsSync(path.join(d, 'index.html')));
  if (!found) throw new Error(`The dashboard files are missing (looked in ${candidates.join(', ')}); reinstall the package or restore src/server/dashboard.`);
  return found;
}

function loadAssets(dir: string, prefix = ''): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      for (const [k, v] of loadAssets(path.join(dir, entry.name), rel)) out.set(k, v);
      continue;
    }
    const type = TYPES[path.extname(entry.name)];
    if (!type) continue;
    const body = readFileSync(path.join(dir, entry.name));
    out.set(rel, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
  }
  return out;
}

/** GET / (the page), GET /assets/* (its files, a fixed list read at start) and GET /openapi.json. */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadAssets(dashboardDir());
  const send = (reply: FastifyReply, ifNoneMatch: string | undefined, asset: Asset) => {
    reply.headers(PAGE_HEADERS).header('etag', asset.etag);
    if (ifNoneMatch === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };

  app.get('/', async (req, reply) => send(reply, req.headers['if-none-match'], assets.get('index.html')!));
  app.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
    // Only files found at start are served: a request path can never reach the file system.
    const asset = assets.get(req.params['*']);
    if (!asset || req.params['*'] === 'index.html') return reply.code(404).send({ error: { status: 404, message: `No dashboard file ${req.params['*']}.` } });
    return send(reply, req.headers['if-none-match'], asset);
  });
  app.get('/openapi.json', async (_req, reply) => reply.header('cache-control', 'no-cache').send(openApiDocument));
}
