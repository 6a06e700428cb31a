// The page's only way to the service: JSON over fetch, with the admin token from this tab.

const KEY = 'ipaas-openai.adminToken';

export const adminToken = {
  get: () => sessionStorage.getItem(KEY),
  set(value) {
    sessionStorage.setItem(KEY, value);
    showState();
  },
  clear() {
    sessionStorage.removeItem(KEY);
    showState();
  },
};

export class ApiError extends Error {
  constructor(status, message, fix) {
    super(message);
    this.status = status;
    this.fix = fix;
  }
}

function showState() {
  const el = document.getElementById('token-state');
  if (el) el.textContent = adminToken.get() ? 'set' : 'not set';
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
  let { res, data } = await send(method, path, body, adminToken.get());
  if (res.status === 401) {
    const { askForToken } = await import('./token-dialog.js');
    const given = await askForToken(data?.error?.message ?? 'This needs the admin token.');
    if (given) ({ res, data } = await send(method, path, body, adminToken.get()));
  }
  if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? `The service answered HTTP ${res.status}.`, data?.error?.fix);
  return data;
}

/** Checks a token with the service without changing anything. */
export async function checkToken(token) {
  const { res, data } = await send('POST', '/api/auth/check', undefined, token);
  if (res.ok) return { ok: true };
  return { ok: false, message: data?.error?.message ?? `HTTP ${res.status}` };
}

showState();
