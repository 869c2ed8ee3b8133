// Helpers for tests against the fake Discord (crates/fake-discord, started by
// startStack({ services: ['fake-discord'] })): its control API, and the catalog refresh as an
// operator drives it.
import assert from 'node:assert/strict';
import { eventually } from './client.mjs';

/** Calls the fake's control API (`/_control/...`); throws on anything but 2xx. */
export async function control(base, method, path, body) {
  const res = await fetch(`${base}/_control${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Every request the fake received after seq `since` (all of them by default). */
export async function requestsSince(base, since = 0) {
  return (await control(base, 'GET', `/requests?since=${since}`)).requests;
}

/** The seq of the last request the fake received: requestsSince(base, it) lists what follows. */
export async function nextSeq(base) {
  return (await control(base, 'GET', '/state')).next_request_seq - 1;
}

/** The catalog refresh's state as the admin API shows it. */
export async function refreshState(api) {
  const r = await api.get('/v1/admin/catalog/refresh');
  assert.equal(r.status, 200, r.text);
  return r.json.refresh;
}

/**
 * Waits until a run that started after `before` (a refreshState) has ended, and returns the
 * state then. `ms` bounds the wait; the caller's assertions report what was there.
 */
export async function refreshEnded(api, before, ms = 90_000) {
  return eventually(
    () => refreshState(api),
    (s) => s.state === 'idle' && s.last_run && s.last_run.finished_at_ms > (before.last_run?.finished_at_ms ?? 0) && !s.again,
    ms,
  );
}

/** Asks for a refresh and waits until a run that started after the ask has completed. */
export async function refreshed(api, { ms = 90_000 } = {}) {
  const before = await refreshState(api);
  const r = await api.post('/v1/admin/catalog/refresh', {});
  assert.equal(r.status, 202, r.text);
  const done = await refreshEnded(api, before, ms);
  assert.equal(done.state, 'idle', JSON.stringify(done));
  assert.equal(done.last_run?.outcome, 'completed', JSON.stringify(done));
  return done;
}
