import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIClient, defaultFetch } from './openai-client.js';

let server: Server;
let base = '';
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/hang') return; // never answers
      if (req.url === '/empty') return res.writeHead(204).end();
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(req.url === '/teapot' ? 418 : 200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '41' });
      res.end(JSON.stringify({ echo: body, contentType: req.headers['content-type'] ?? null }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => {
  server.close(() => r());
  server.closeAllConnections(); // a call a test left hanging must not hold the server open
}));

describe('defaultFetch (the SDK fetch)', () => {
  it('a JSON call: method, headers and body go out; status, every header and the body come back as a Response', async () => {
    const res = await defaultFetch(`${base}/v1/responses`, { method: 'POST', headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }), body: '{"x":1}' });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('41');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ echo: '{"x":1}', contentType: 'application/json' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/v1/responses', headers: { authorization: 'Bearer k' } });
  });

  it('an error status and a body-less status are answered as they are', async () => {
    const teapot = await defaultFetch(`${base}/teapot`, { method: 'POST', body: '{}' });
    expect(teapot.status).toBe(418);
    const empty = await defaultFetch(`${base}/empty`, { method: 'POST', body: '{}' });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('an aborted call ends at once with an AbortError, as fetch does (the SDK tells it from a network error by that name)', async () => {
    const ac = new AbortController();
    const pending = defaultFetch(`${base}/hang`, { method: 'POST', body: '{}', signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it("a body that is not a string (the SDK's file upload) goes through fetch unchanged", async () => {
    const client = createOpenAIClient({ apiKey: 'sk-test', baseUrl: `${base}/v1`, timeoutMs: 5_000, maxRetries: 0 } as Parameters<typeof createOpenAIClient>[0]);
    // As the batch runner uploads: a read stream of the request file.
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'upload-')), 'lines.jsonl');
    writeFileSync(file, '{"a":1}\n');
    await client.files.create({ file: createReadStream(file), purpose: 'batch' });
    rmSync(path.dirname(file), { recursive: true, force: true });
    const upload = seen.at(-1)!;
    expect(upload.url).toBe('/v1/files');
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload.body).toContain('{"a":1}');
    expect(upload.body).toContain('name="purpose"');
  });

  it('the SDK on top of it: a call, its parsed answer and its request id', async () => {
    const client = createOpenAIClient({ apiKey: 'sk-test', baseUrl: `${base}/v1`, timeoutMs: 5_000, maxRetries: 0 } as Parameters<typeof createOpenAIClient>[0]);
    const r = await client.post('/models/echo', { body: { hello: 'world' } });
    expect(r).toEqual({ echo: '{"hello":"world"}', contentType: 'application/json' });
  });
});
