/** API keys and SSO (login/refresh) tokens. */
import { randomBytes, randomUUID } from 'node:crypto';
import { IpaasHttpError } from './errors.js';
import type { IpaasLoginResponse } from './types.js';

const REFRESH_TTL_MS = 7 * 24 * 3600 * 1000;
export const COMPANY_ID = '6f1c2d3e-0000-4000-8000-00000000c0de';

interface User {
  id: string;
  email_address: string;
  password: string;
}
interface Grant {
  userId: string;
  expiresAt: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class AuthService {
  private readonly apiKeys: Set<string>;
  private readonly users: User[];
  private readonly accessTokens = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, Grant>();

  constructor(
    apiKeys: string[],
    users: { email_address: string; password: string }[],
    private readonly tokenTtlSeconds: number,
  ) {
    this.apiKeys = new Set(apiKeys);
    this.users = users.map((u) => ({ ...u, id: randomUUID() }));
  }

  /** Throws 401 unless the Authorization header carries a known API key or a live access token. */
  authenticate(header: string | undefined): void {
    if (!header) throw new IpaasHttpError(401, 'Authorization header is missing; expected "Bearer <token>".');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = m?.[1];
    if (!token) throw new IpaasHttpError(401, 'Authorization header must use the Bearer scheme.');
    if (this.apiKeys.has(token)) return;
    const grant = this.accessTokens.get(token);
    if (!grant) throw new IpaasHttpError(401, 'The bearer token is not valid.');
    if (grant.expiresAt <= Date.now()) {
      this.accessTokens.delete(token);
      throw new IpaasHttpError(401, 'The access token has expired.');
    }
  }

  login(body: unknown): IpaasLoginResponse {
    const email = isRecord(body) ? body['email_address'] : undefined;
    const password = isRecord(body) ? body['password'] : undefined;
    if (typeof email !== 'string' || typeof password !== 'string' || email === '' || password === '') {
      throw new IpaasHttpError(400, 'email_address and password are required.', [
        ...(typeof email === 'string' && email !== '' ? [] : [{ field: 'email_address', message: 'email_address is required.' }]),
        ...(typeof password === 'string' && password !== '' ? [] : [{ field: 'password', message: 'password is required.' }]),
      ]);
    }
    const user = this.users.find((u) => u.email_address.toLowerCase() === email.toLowerCase() && u.password === password);
    if (!user) throw new IpaasHttpError(401, 'Invalid email address or password.');
    return this.issue(user);
  }

  /** Rotates the refresh token: the old one stops working; earlier access tokens live until they expire. */
  refresh(body: unknown): IpaasLoginResponse {
    const token = isRecord(body) ? body['refresh_token'] : undefined;
    if (typeof token !== 'string' || token === '') {
      throw new IpaasHttpError(400, 'refresh_token is required.', [{ field: 'refresh_token', message: 'refresh_token is required.' }]);
    }
    const grant = this.refreshTokens.get(token);
    if (!grant || grant.expiresAt <= Date.now()) {
      throw new IpaasHttpError(401, 'The refresh token is not valid or has expired.');
    }
    this.refreshTokens.delete(token);
    const user = this.users.find((u) => u.id === grant.userId);
    if (!user) throw new IpaasHttpError(401, 'The refresh token is not valid or has expired.');
    return this.issue(user);
  }

  private issue(user: User): IpaasLoginResponse {
    const now = Date.now();
    const access = randomBytes(32).toString('base64url');
    const refresh = randomBytes(32).toString('base64url');
    const accessExp = now + this.tokenTtlSeconds * 1000;
    const refreshExp = now + Math.max(REFRESH_TTL_MS, this.tokenTtlSeconds * 2000);
    this.accessTokens.set(access, { userId: user.id, expiresAt: accessExp });
    this.refreshTokens.set(refresh, { userId: user.id, expiresAt: refreshExp });
    return {
      access_token: access,
      access_token_expiration: new Date(accessExp).toISOString(),
      refresh_token: refresh,
      refresh_token_expiration: new Date(refreshExp).toISOString(),
      user_id: user.id,
      company_id: COMPANY_ID,
      id: user.id,
      name: user.email_address,
      email_address: user.email_address,
    };
  }
}
