// The customer pages of one tenant, served under /t/{tenant}/: the dashboard at the prefix,
// login/, signup/, forgot/, reset/, logout/, shop/ and shop/return/ below it. One bundle; the route comes from the
// path (table-driven, shared/router.js), and moving between pages is a history push, so the
// same URLs also work when opened directly.
import { h } from '../shared/dom.js';
import { matchRoute } from '../shared/router.js';
import { renderForgot, renderLogin, renderLogout, renderReset, renderSignup } from './auth.js';
import { createAccount, pagePath, tenantFromPath } from './client.js';
import { renderDashboard } from './dashboard.js';
import { renderReturn, renderShop } from './shop.js';

const main = document.getElementById('main');
const tools = document.getElementById('topbar-tools');
const brand = document.getElementById('brand');

// `guest`: for signed-out visitors (a signed-in one goes to the dashboard); `member`: needs a
// session (otherwise the login page); `any`: both.
const ROUTES = [
  { path: 'login', title: 'Log in', access: 'guest', render: renderLogin },
  { path: 'signup', title: 'Create account', access: 'guest', render: renderSignup },
  { path: 'forgot', title: 'Reset password', access: 'guest', render: renderForgot },
  { path: 'reset', title: 'Choose a new password', access: 'any', render: renderReset },
  { path: 'logout', title: 'Sign out', access: 'any', render: renderLogout },
  { path: 'shop/return', title: 'Your order', access: 'member', render: renderReturn },
  { path: 'shop', title: 'Plans', access: 'any', render: renderShop },
  { path: '', title: 'Live signals', access: 'member', render: renderDashboard },
];

const where = tenantFromPath();
let cleanup = null;
let notice = null;
let customer = null;
let rendered = 0;

function segmentsOf(rest) {
  return rest.split('/').filter(Boolean).map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
}

if (!where) {
  main.replaceChildren(h('section', { class: 'panel auth-card' },
    h('h1', {}, 'Page not found'),
    h('p', {}, 'Customer pages live under /t/<your provider>/. Check the link you were sent.')));
} else {
  const { tenant } = where;
  brand.setAttribute('href', pagePath(tenant));
  document.getElementById('brand-name').textContent = tenant;

  const account = createAccount(tenant, {
    onSignedOut: () => {
      customer = null;
      navigate('login', { text: 'Your session has ended. Please log in again.', kind: 'warn' }, { replace: true });
    },
    onCustomer: (c) => { customer = c; },
  });

  function navigate(page, withNotice = null, { replace = false } = {}) {
    notice = withNotice;
    const url = pagePath(tenant, page);
    if (replace) window.history.replaceState(null, '', url);
    else window.history.pushState(null, '', url);
    render();
  }

  async function render() {
    cleanup?.();
    cleanup = null;
    const here = tenantFromPath();
    const { route } = matchRoute(ROUTES, segmentsOf(here?.rest ?? '')) ?? { route: ROUTES[ROUTES.length - 1] };
    if (route.access !== 'any') {
      if (customer === null) {
        try {
          customer = (await account.session())?.customer ?? null;
        } catch (err) {
          main.replaceChildren(h('section', { class: 'panel auth-card' },
            h('h1', {}, 'Could not load this page'),
            h('div', { class: 'error-box', attrs: { role: 'alert' }, dataset: { errorCode: err.code ?? 'error' } },
              h('p', {}, err.code === 'tenant_not_found' ? 'This page does not exist. Check the link you were sent.' : `The server did not answer (${err.message}). Reload to try again.`))));
          return;
        }
      }
      if (route.access === 'member' && !customer) return navigate('login', notice, { replace: true });
      if (route.access === 'guest' && customer) return navigate('', null, { replace: true });
    }
    document.title = `${route.title} · ${tenant}`;
    renderTools(route);
    const ctx = {
      tenant,
      account,
      main,
      tools,
      customer,
      notice,
      navigate,
    };
    notice = null;
    cleanup = (await route.render(ctx)) ?? null;
    // After moving between pages, start reading at the new content; a fresh load keeps the
    // browser's own start (the skip link first).
    if (rendered > 0 && document.activeElement === document.body) main.focus({ preventScroll: true });
    rendered += 1;
  }

  function renderTools(route) {
    tools.replaceChildren();
    if (route.access === 'member' && customer) {
      const out = h('button', {
        type: 'button',
        class: 'btn small',
        onclick: () => navigate('logout'),
      }, 'Sign out');
      tools.append(h('span', { class: 'whoami muted', title: customer.email }, customer.email), out);
    }
  }

  window.addEventListener('popstate', render);
  render();
}
