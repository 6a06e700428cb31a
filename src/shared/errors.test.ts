import { describe, expect, it } from 'vitest';
import { describeError } from './errors.js';

const sys = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${code}: raw`), { code, ...extra });

describe('describeError: every error class gets a fix; only a real internal error says "bug"', () => {
  it.each([
    [sys('ENOENT', { path: 'ids.txt' }), 'ids.txt does not exist.', /Check the path/],
    [sys('EADDRINUSE', { port: 8080, address: '127.0.0.1' }), 'Port 8080 on 127.0.0.1 is already in use.', /--port \(or PORT/],
    [sys('EROFS', { path: '/data/ipaas-openai.db' }), '/data/ipaas-openai.db is on a read-only file system.', /IPAAS_OPENAI_DB/],
    [sys('EACCES', { path: '/data', syscall: 'mkdir' }), 'No permission to mkdir /data.', /writable folder/],
    [sys('ENOSPC', { path: '/data/x.log' }), 'The disk is full (writing /data/x.log).', /Free space/],
    [sys('ERR_SQLITE_ERROR', { errcode: 26 }), 'The database is damaged or is not a SQLite database: ERR_SQLITE_ERROR: raw', /move it aside/],
  ])('%s', (err, message, fix) => {
    const d = describeError(err);
    expect(d.message).toBe(message);
    expect(d.fix).toMatch(fix);
    expect(d.fix).not.toMatch(/bug/);
  });

  it('an unknown error is reported as a bug, with the message', () => {
    const d = describeError(new TypeError('x is undefined'));
    expect(d.code).toBe('INTERNAL');
    expect(d.fix).toMatch(/bug in the connector/);
  });
});

describe('nothing answered: the fix names the URL and the variable to check', () => {
  it('OpenAI', async () => {
    const { upstreamError } = await import('./errors.js');
    const e = upstreamError({ service: 'openai', status: undefined, endpoint: 'http://10.0.0.9/v1', upstreamMessage: 'connection to http://10.0.0.9/v1 failed: ECONNREFUSED' });
    expect(e.fix).toContain('Nothing answered at http://10.0.0.9/v1: check the network and OPENAI_BASE_URL (openai.baseUrl)');
    expect(e.fix).not.toContain('status.openai.com');
  });
  it('iPaaS.com', async () => {
    const { upstreamError } = await import('./errors.js');
    const e = upstreamError({ service: 'ipaas', status: undefined, endpoint: 'https://api.ipaas.example', upstreamMessage: 'GET /customers: ECONNREFUSED' });
    expect(e.fix).toContain('Nothing answered at https://api.ipaas.example: check the network and IPAAS_BASE_URL (ipaas.baseUrl)');
    expect(e.fix).not.toMatch(/credentials/);
  });
});
