// Operator console: sign-in with the admin token, then a hash router over the views in ROUTES.
// A view is `render(root, ctx, params)`; it returns (or resolves to) a cleanup function that
// runs when the operator leaves it.
import { h, link, replace } from '../shared/dom.js';
import { hashSegments, matchRoute } from '../shared/router.js';
import { adminToken, createSession } from '../shared/session.js';
import { startClock } from '../shared/signal-card.js';
import { renderCatalog } from './catalog.js';
import { renderConnector } from './connector/index.js';
import { renderCustomer, renderCustomers } from './customers.js';
import { renderPayments } from './payments.js';
import { renderPlans } from './plans.js';
import { renderRoles } from './roles.js';
import { renderDiscord } from './discord.js';
import { renderSeats } from './seats.js';
import { renderSignIn } from './signin.js';
import { renderTenant } from './tenant.js';
import { renderTenants } from './tenants.js';

// First match wins; the last route matches every hash.
const ROUTES = [
  { name: 'connector', path: 't/:tenant/c/:connector', render: (root, ctx, p) => renderConnector(root, ctx, p.tenant, p.connector) },
  { name: 'customer', path: 't/:tenant/customers/:id', render: (root, ctx, p) => renderCustomer(root, ctx, p.tenant, p.id) },
  { name: 'customers', path: 't/:tenant/customers', render: (root, ctx, p) => renderCustomers(root, ctx, p.tenant) },
  { name: 'seats', path: 't/:tenant/seats', render: (root, ctx, p) => renderSeats(root, ctx, p.tenant) },
  { name: 'plans', path: 't/:tenant/plans', render: (root, ctx, p) => renderPlans(root, ctx, p.tenant) },
  { name: 'payments', path: 't/:tenant/payments', render: (root, ctx, p) => renderPayments(root, ctx, p.tenant) },
  { name: 'roles', path: 't/:tenant/roles', render: (root, ctx, p) => renderRoles(root, ctx, p.tenant) },
  { name: 'discord', path: 'discord', render: (root, ctx) => renderDiscord(root, ctx) },
  { name: 'catalog-guild', path: 'catalog/:guild', render: (root, ctx, p) => renderCatalog(root, ctx, p.guild) },
  { name: 'catalog', path: 'catalog', render: (root, ctx) => renderCatalog(root, ctx) },
  { name: 'tenant', path: 't/:tenant', render: (root, ctx, p) => renderTenant(root, ctx, p.tenant) },
  { name: 'tenants', path: '', render: (root, ctx) => renderTenants(root, ctx) },
];

const main = document.getElementById('main');
const crumbs = document.getElementById('crumbs');
const signOutBtn = document.getElementById('signout');

const session = createSession({
  credential: adminToken,
  probe: (api) => api.get('/v1/admin/tenants'),
  onChange: () => route(),
  expiredNotice: 'The admin token was rejected (401). Sign in again.',
});

let cleanup = null;

function setCrumbs(items) {
  replace(crumbs, items.length
    ? h('ol', {}, items.map(([text, path], i) => h('li', {},
      path && i < items.length - 1 ? link(path, text) : h('span', { attrs: { 'aria-current': 'page' } }, text))))
    : null);
}

function navigate(path) {
  if (window.location.hash === path) route();
  else window.location.hash = path;
}

async function route() {
  if (cleanup) {
    try { cleanup(); } catch { /* view already gone */ }
    cleanup = null;
  }
  main.replaceChildren();
  signOutBtn.hidden = !session.signedIn;
  if (!session.signedIn) {
    setCrumbs([]);
    document.title = 'Sign in · Signal Relay';
    renderSignIn(main, { notice: session.takeNotice(), onToken: (token) => session.signIn(token) });
    return;
  }
  const { route: r, params } = matchRoute(ROUTES, hashSegments());
  const view = h('div', { class: 'view', dataset: { view: r.name } });
  main.append(view);
  cleanup = await r.render(view, { api: session.api, navigate, setCrumbs, main }, params);
  if (document.activeElement === document.body) main.focus({ preventScroll: true });
}

signOutBtn.addEventListener('click', () => {
  session.signOut('Signed out.');
  if (window.location.hash && window.location.hash !== '#/') window.location.hash = '#/';
  else route();
});
window.addEventListener('hashchange', route);
startClock();
route();
