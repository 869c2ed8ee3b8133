// JSON API client for the worker's public API (same origin). Errors carry the API's
// error_code, message, correlation_id and field details so the UI can show them inline.
import { h } from './dom.js';

export class ApiError extends Error {
  constructor({ status, code, message, correlationId, details, retryAfter }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.correlationId = correlationId ?? null;
    this.details = details ?? [];
    /** Seconds from a Retry-After header (429/503), or null. */
    this.retryAfter = retryAfter ?? null;
  }
}

/**
 * @param {object} [o]
 * @param {string|(() => string|null)} [o.token] a bearer token (the operator pages)
 * @param {(err: ApiError) => void} [o.onUnauthorized] called on every 401
 * @param {RequestCredentials} [o.credentials] 'omit' (default: bearer-token pages send no
 *   cookies) or 'same-origin' (the customer pages, whose session is an HttpOnly cookie)
 * @param {(method: string) => object} [o.headers] extra headers per request (a CSRF token)
 */
export function createApi({ token, onUnauthorized, credentials = 'omit', headers: extraHeaders } = {}) {
  async function request(method, path, body) {
    const headers = { accept: 'application/json', ...(extraHeaders?.(method) ?? {}) };
    const t = typeof token === 'function' ? token() : token;
    if (t) headers.authorization = `Bearer ${t}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials,
      });
    } catch (e) {
      throw new ApiError({ status: 0, code: 'network_error', message: `could not reach the server (${e.message})` });
    }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok || (json && json.ok === false)) {
      const err = new ApiError({
        status: res.status,
        code: json?.error_code ?? `http_${res.status}`,
        message: json?.message ?? (text.slice(0, 200) || res.statusText),
        correlationId: json?.correlation_id ?? res.headers.get('x-correlation-id'),
        details: json?.details,
        retryAfter: retryAfterSeconds(res.headers.get('retry-after')),
      });
      if (res.status === 401 && onUnauthorized) onUnauthorized(err);
      throw err;
    }
    return json ?? {};
  }
  return {
    get: (p) => request('GET', p),
    post: (p, b = {}) => request('POST', p, b),
    put: (p, b = {}) => request('PUT', p, b),
    patch: (p, b = {}) => request('PATCH', p, b),
    del: (p) => request('DELETE', p),
  };
}

function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : null;
}

/** Path segment escaping for ids typed by operators. */
export const seg = (s) => encodeURIComponent(String(s));

/** An inline error panel for an ApiError (or any Error). */
export function errorBox(err, { title } = {}) {
  const code = err?.code ?? 'error';
  const box = h('div', { class: 'error-box', attrs: { role: 'alert' }, dataset: { errorCode: code } },
    h('p', { class: 'error-title' },
      title ? h('strong', {}, `${title}: `) : null,
      h('code', { class: 'error-code' }, code),
      ' ',
      h('span', { class: 'error-message' }, err?.message ?? String(err))),
    err?.details?.length
      ? h('ul', { class: 'error-details' },
        err.details.map((d) => h('li', {}, h('code', {}, d.field ?? '$'), ` ${d.problem ?? ''}`)))
      : null,
    err?.correlationId ? h('p', { class: 'error-cid' }, `correlation id ${err.correlationId}`) : null);
  return box;
}

/** Shows an error in `slot` (a container element), or clears it when err is null. */
export function showError(slot, err, opts) {
  slot.replaceChildren();
  if (err) slot.append(errorBox(err, opts));
}
