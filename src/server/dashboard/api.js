// The page's only way to the service: JSON over fetch, with the admin token from this tab.

const KEY = 'ipaas-openai.adminToken';
// The service answers 401 both when no token is sent and when the one sent is wrong; only the page
// knows which it was, so it remembers that the saved token was refused.
let refused = false;

export const adminToken = {
  get: () => sessionStorage.getItem(KEY),
  set(value) {
    sessionStorage.setItem(KEY, value);
    refused = false;
    showState();
  },
  clear() {
    sessionStorage.removeItem(KEY);
    refused = false;
    showState();
  },
  /** The saved token was sent and the service said no: drop it and say so in the header. */
  refuse() {
    sessionStorage.removeItem(KEY);
    refused = true;
    showState();
  },
};

const WHERE = 'IPAAS_OPENAI_ADMIN_TOKEN, or the one `ipaas-openai serve` (or the demo) printed at start';
/** Why a call was refused, in words that say whether a token was given at all. */
export function refusal(tokenSent) {
  return tokenSent
    ? { message: 'The service refused the admin token saved in this tab: it is not this service\'s admin token (the service may have restarted with a new one).', fix: `Enter the current admin token with the "Admin token" button at the top: ${WHERE}.` }
    : { message: 'No admin token was given: this needs the service\'s admin token.', fix: `Enter it with the "Admin token" button at the top: ${WHERE}.` };
}

export class ApiError extends Error {
  constructor(status, message, fix) {
    super(message);
    this.status = status;
    this.fix = fix;
  }
}

function showState() {
  const el = document.getElementById('token-state');
  if (el) el.textContent = adminToken.get() ? 'set' : refused ? 'refused' : 'not set';
}

async function send(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The service does not answer.', 'Check that `ipaas-openai serve` (or the demo with --keep) is still running, then reload the page.');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { res, data };
}

/**
 * Calls the API. A 401 opens the token dialog once and repeats the call with the token given;
 * errors come back as ApiError with the service's message and fix.
 */
export async function api(method, path, body) {
  let token = adminToken.get();
  let { res, data } = await send(method, path, body, token);
  if (res.status === 401) {
    if (token) adminToken.refuse();
    const { askForToken } = await import('./token-dialog.js');
    const given = await askForToken(refusal(!!token).message);
    if (given) {
      token = adminToken.get();
      ({ res, data } = await send(method, path, body, token));
    }
  }
  if (res.status === 401) {
    const why = refusal(!!token);
    throw new ApiError(401, why.message, why.fix);
  }
  if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? `The service answered HTTP ${res.status}.`, data?.error?.fix);
  return data;
}

/**
 * A read for something the page shows on the side (the menu's count): with the token of this tab when
 * one is set, never asking for one; null when it cannot be read now.
 */
export async function peek(path) {
  try {
    const { res, data } = await send('GET', path, undefined, adminToken.get());
    return res.ok ? data : null;
  } catch {
    return null;
  }
}

/**
 * Downloads a file the API makes (the CSV export) with the admin token of this tab when one is set, as
 * api() does; the browser saves it under the name the service gives.
 */
export async function download(path) {
  let token = adminToken.get();
  const get = (t) => fetch(path, { headers: t ? { authorization: `Bearer ${t}` } : {} });
  let res;
  try {
    res = await get(token);
    if (res.status === 401) {
      if (token) adminToken.refuse();
      const { askForToken } = await import('./token-dialog.js');
      if (await askForToken(refusal(!!token).message)) res = await get((token = adminToken.get()));
    }
  } catch {
    throw new ApiError(0, 'The service does not answer.', 'Check that `ipaas-openai serve` is still running, then try again.');
  }
  if (res.status === 401) {
    const why = refusal(!!token);
    throw new ApiError(401, why.message, why.fix);
  }
  if (!res.ok) {
    const data = await res.json().catch(() => null);
    throw new ApiError(res.status, data?.error?.message ?? `The service answered HTTP ${res.status}.`, data?.error?.fix);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** Checks a token with the service without changing anything. */
export async function checkToken(token) {
  const { res, data } = await send('POST', '/api/auth/check', undefined, token);
  if (res.ok) return { ok: true };
  // A token was sent, so a 401 means this one is wrong (whatever the generic message says).
  if (res.status === 401) return { ok: false, message: 'it is not this service\'s admin token. Check for typos, or copy it again from where the service was started.' };
  return { ok: false, message: data?.error?.message ?? `the service answered HTTP ${res.status}.` };
}

showState();
