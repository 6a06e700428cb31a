import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { createIpaasEmulator, type IpaasEmulator, type IpaasErrorBody, type IpaasLoginResponse } from './index.js';
import { call } from './testing.js';

let emu: IpaasEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(opts: Parameters<typeof createIpaasEmulator>[0] = {}): Promise<string> {
  emu = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS, ...opts });
  return emu.start();
}

describe('auth', () => {
  it('accepts the default API key and configured keys', async () => {
    const base = await start({ apiKeys: ['k1', 'k2'] });
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(base, 'GET', '/customers/v2/Customer/1', { token: 'k2' })).status).toBe(200);
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).status).toBe(401); // default key not configured
  });

  it('rejects missing, malformed and unknown tokens with 401 in the error shape', async () => {
    const base = await start();
    const missing = await call<IpaasErrorBody>(base, 'GET', '/customers/v2/Customer/1', { token: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ status: 401, title: 'Unauthorized', errors: [] });
    expect(missing.body.message).toMatch(/Authorization/);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await call(base, 'GET', '/customers/v2/Customer/1', { token: 'nope' });
    expect(wrong.status).toBe(401);
    const basic = await call(base, 'GET', '/customers/v2/Customers', {
      token: null,
      headers: { authorization: 'Basic ipaas-emulator-key' },
    });
    expect(basic.status).toBe(401);
    // every protected route
    for (const [m, p] of [
      ['POST', '/customers/v2/Customer'],
      ['PUT', '/customers/v2/Customer/1'],
      ['GET', '/customers/v2/CustomFields'],
      ['POST', '/customers/v2/CustomField'],
      ['GET', '/hookapi/v2/Webhooks'],
      ['POST', '/hookapi/v2/Webhook'],
      ['DELETE', '/hookapi/v2/Webhook/1'],
    ] as const) {
      expect((await call(base, m, p, { token: 'nope', ...(m === 'GET' ? {} : { body: {} }) })).status, `${m} ${p}`).toBe(401);
    }
  });

  it('logs in, uses the access token, refreshes and rotates the refresh token', async () => {
    const base = await start();
    const bad = await call<IpaasErrorBody>(base, 'POST', '/sso/v2/Auth/Login', {
      token: null,
      body: { email_address: 'demo@example.com', password: 'wrong' },
    });
    expect(bad.status).toBe(401);
    expect(bad.body.title).toBe('Unauthorized');

    const login = await call<IpaasLoginResponse>(base, 'POST', '/sso/v2/Auth/Login', {
      token: null,
      body: { email_address: 'Demo@Example.com', password: 'demo-password' },
    });
    expect(login.status).toBe(200);
    const t = login.body;
    expect(t).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), user_id: expect.any(String), company_id: expect.any(String) });
    const ttl = Date.parse(t.access_token_expiration) - Date.now();
    expect(ttl).toBeGreaterThan(3500_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
    expect(Date.parse(t.refresh_token_expiration)).toBeGreaterThan(Date.parse(t.access_token_expiration));
    expect((await call(base, 'GET', '/customers/v2/Customer/1', { token: t.access_token })).status).toBe(200);

    const r = await call<IpaasLoginResponse>(base, 'POST', '/sso/v2/Auth/Refresh', { token: null, body: { refresh_token: t.refresh_token } });
    expect(r.status).toBe(200);
    expect(r.body.access_token).not.toBe(t.access_token);
    expect(r.body.user_id).toBe(t.user_id);
    expect((await call(base, 'GET', '/customers/v2/Customer/1', { token: r.body.access_token })).status).toBe(200);
    // the old refresh token is spent
    expect((await call(base, 'POST', '/sso/v2/Auth/Refresh', { token: null, body: { refresh_token: t.refresh_token } })).status).toBe(401);
    expect((await call(base, 'POST', '/sso/v2/Auth/Refresh', { token: null, body: { refresh_token: 'unknown' } })).status).toBe(401);
    expect((await call(base, 'POST', '/sso/v2/Auth/Refresh', { token: null, body: {} })).status).toBe(400);
  });

  it('expires access tokens after tokenTtlSeconds', async () => {
    const base = await start({ tokenTtlSeconds: 0.15, users: [{ email_address: 'a@b.co', password: 'pw' }] });
    const login = await call<IpaasLoginResponse>(base, 'POST', '/sso/v2/Auth/Login', { token: null, body: { email_address: 'a@b.co', password: 'pw' } });
    expect((await call(base, 'GET', '/customers/v2/Customer/1', { token: login.body.access_token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const expired = await call<IpaasErrorBody>(base, 'GET', '/customers/v2/Customer/1', { token: login.body.access_token });
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/);
    // the refresh token still works after the access token expired
    const r = await call<IpaasLoginResponse>(base, 'POST', '/sso/v2/Auth/Refresh', { token: null, body: { refresh_token: login.body.refresh_token } });
    expect(r.status).toBe(200);
  });

  it('echoes x-correlation-id or generates one', async () => {
    const base = await start();
    const echoed = await call(base, 'GET', '/customers/v2/Customer/1', { headers: { 'x-correlation-id': 'abc-123' } });
    expect(echoed.headers.get('x-correlation-id')).toBe('abc-123');
    const fresh = await call(base, 'GET', '/customers/v2/Customer/1', { token: null });
    expect(fresh.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
