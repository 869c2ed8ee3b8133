// Operator console: sign-in with the admin token, then a hash router over three views.
//   #/                          tenants
//   #/t/<tenant>                tenant: connectors, feed stats
//   #/t/<tenant>/c/<connector>  connector: settings, available channels, mappings, signals, live feed
import { createApi } from '../shared/api.js';
import { h, link, replace } from '../shared/dom.js';
import { startClock } from '../shared/signal-card.js';
import { renderSignIn } from './signin.js';
import { renderTenants } from './tenants.js';
import { renderTenant } from './tenant.js';
import { renderConnector } from './connector.js';

const TOKEN_KEY = 'signal-relay.admin-token';
const main = document.getElementById('main');
const crumbs = document.getElementById('crumbs');
const signOutBtn = document.getElementById('signout');

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(v) {
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

let cleanup = null;
let signInNotice = null;

const api = createApi({
  token: () => session.token,
  onUnauthorized: () => {
    session.token = null;
    signInNotice = 'The admin token was rejected (401). Sign in again.';
    route();
  },
});

function setCrumbs(items) {
  replace(crumbs, items.length
    ? h('ol', {}, items.map(([text, path], i) => h('li', {},
      path && i < items.length - 1 ? link(path, text) : h('span', { attrs: { 'aria-current': 'page' } }, text))))
    : null);
}

function parseHash() {
  const parts = window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 't' && parts[1] && parts[2] === 'c' && parts[3]) return { view: 'connector', tenant: parts[1], connector: parts[3] };
  if (parts[0] === 't' && parts[1]) return { view: 'tenant', tenant: parts[1] };
  return { view: 'tenants' };
}

export function navigate(path) {
  if (window.location.hash === path) route();
  else window.location.hash = path;
}

async function route() {
  if (cleanup) {
    try { cleanup(); } catch { /* view already gone */ }
    cleanup = null;
  }
  main.replaceChildren();
  const signedIn = !!session.token;
  signOutBtn.hidden = !signedIn;
  if (!signedIn) {
    setCrumbs([]);
    document.title = 'Sign in · Signal Relay';
    const notice = signInNotice;
    signInNotice = null;
    renderSignIn(main, {
      notice,
      onToken: async (token) => {
        // Probe the token before keeping it.
        const probe = createApi({ token });
        await probe.get('/v1/admin/tenants');
        session.token = token;
        route();
      },
    });
    return;
  }
  const r = parseHash();
  const ctx = { api, navigate, setCrumbs, main };
  const view = h('div', { class: 'view', dataset: { view: r.view } });
  main.append(view);
  if (r.view === 'connector') cleanup = await renderConnector(view, ctx, r.tenant, r.connector);
  else if (r.view === 'tenant') cleanup = await renderTenant(view, ctx, r.tenant);
  else cleanup = await renderTenants(view, ctx);
  if (document.activeElement === document.body) main.focus({ preventScroll: true });
}

signOutBtn.addEventListener('click', () => {
  session.token = null;
  signInNotice = 'Signed out.';
  if (window.location.hash && window.location.hash !== '#/') window.location.hash = '#/';
  else route();
});
window.addEventListener('hashchange', route);
startClock();
route();
