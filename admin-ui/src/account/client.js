// The customer's side of the API: the tenant from the page's path, a cookie session (HttpOnly,
// never visible here) and its CSRF token. No admin token exists anywhere in the customer pages.
import { createApi, seg } from '../shared/api.js';

/** `/t/{tenant}/…` → { tenant, rest } (rest: the path after the prefix, e.g. "login/"). */
export function tenantFromPath(pathname = window.location.pathname) {
  const m = /^\/t\/([^/]+)\/(.*)$/.exec(pathname);
  if (!m) return null;
  try {
    return { tenant: decodeURIComponent(m[1]), rest: m[2] };
  } catch {
    return null;
  }
}

/** The path of a customer page of this tenant: pagePath('login') → /t/acme/login/ */
export function pagePath(tenant, page = '') {
  return `/t/${seg(tenant)}/${page ? `${page.replace(/\/$/, '')}/` : ''}`;
}

/**
 * The account API for one tenant.
 *   account.session()   the signed-in customer or null (and remembers the CSRF token)
 *   account.api         get/post/… under /v1/account/{tenant}
 */
export function createAccount(tenant, { onSignedOut, onCustomer } = {}) {
  let csrf = null;
  const base = `/v1/account/${seg(tenant)}`;
  const raw = createApi({
    credentials: 'same-origin',
    // The session's CSRF token on every state-changing request (the browser adds Origin).
    headers: (method) => (method !== 'GET' && csrf ? { 'x-csrf-token': csrf } : {}),
    onUnauthorized: (err) => {
      // Only a session that was live and stopped (expired, revoked) is news.
      if (err.code === 'not_signed_in' && csrf !== null) {
        csrf = null;
        onSignedOut?.(err);
      }
    },
  });
  const api = {
    get: (p) => raw.get(base + p),
    post: (p, b) => raw.post(base + p, b),
    del: (p) => raw.del(base + p),
  };
  return {
    tenant,
    api,
    setCsrf(token) { csrf = token ?? null; },
    get signedIn() { return csrf !== null; },
    /** GET session: the customer, or null when not signed in. */
    async session() {
      try {
        const r = await raw.get(`${base}/session`);
        csrf = r.csrf_token ?? null;
        onCustomer?.(r.customer ?? null);
        return r;
      } catch (err) {
        if (err.status === 401) {
          onCustomer?.(null);
          return null;
        }
        throw err;
      }
    },
    async login(email, password) {
      const r = await api.post('/login', { email, password });
      csrf = r.csrf_token ?? null;
      onCustomer?.(r.customer ?? null);
      return r;
    },
    async logout() {
      try {
        await api.post('/logout', {});
      } finally {
        csrf = null;
        onCustomer?.(null);
      }
    },
  };
}
