// Sign-in state kept in this tab only (sessionStorage): the one place that names the storage
// keys, so the console, the dashboard and the customer pages to come share one credential and
// cannot drift apart.
import { createApi } from './api.js';

/** A string kept in sessionStorage under `key`; `set(null)` forgets it. */
export function storedValue(key) {
  return {
    key,
    get: () => sessionStorage.getItem(key),
    set(value) {
      if (value) sessionStorage.setItem(key, value);
      else sessionStorage.removeItem(key);
    },
  };
}

/** The operator (ADMIN_TOKEN) credential. */
export const adminToken = storedValue('signal-relay.admin-token');
/** The tenant the dashboard last opened. */
export const dashboardTenant = storedValue('signal-relay.dashboard-tenant');

/**
 * A signed-in session around one stored credential.
 *
 *   const session = createSession({ credential: adminToken, probe, onChange });
 *   session.api              an API client sending the stored credential
 *   session.signedIn
 *   await session.signIn(t)  runs probe(createApi({ token: t })) first; keeps t only if it passes
 *   session.signOut(notice)  forgets the credential (the caller re-renders)
 *   session.takeNotice()     the message for the next sign-in form (read once)
 *
 * A 401 from any call forgets the credential and calls onChange, so a revoked token lands the
 * user on the sign-in form with a reason instead of a page of errors.
 */
export function createSession({ credential, probe, onChange, expiredNotice }) {
  let notice = null;
  const session = {
    get token() { return credential.get(); },
    get signedIn() { return !!credential.get(); },
    api: createApi({
      token: () => credential.get(),
      onUnauthorized: () => {
        credential.set(null);
        notice = expiredNotice;
        onChange?.();
      },
    }),
    async signIn(token) {
      await probe(createApi({ token }));
      credential.set(token);
      onChange?.();
    },
    signOut(message = null) {
      credential.set(null);
      notice = message;
    },
    takeNotice() {
      const n = notice;
      notice = null;
      return n;
    },
  };
  return session;
}
