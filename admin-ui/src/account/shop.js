// The tenant's shop (/t/{tenant}/shop/) and the checkout-return page (/t/{tenant}/shop/return/).
// The shop lists the tier cards and their duration choices; a signed-in customer's checkout
// links open Sell.app with their email prefilled (the webhook matches the order by email), and
// trial options disappear once they used their trial. The return page follows the order from
// pending to active as the webhook lands, then takes the customer to their dashboard.
import { createApi, seg } from '../shared/api.js';
import { h, link, safeLink, safeUrl } from '../shared/dom.js';
import { pagePath } from './client.js';

const api = createApi({ credentials: 'same-origin' });
/** How often and how long the return page asks (the webhook usually lands within seconds). */
const POLL_MS = 1500;
const PATIENCE_MS = 120_000;

function durationLabel(days) {
  if (days % 365 === 0) return days === 365 ? '1 year' : `${days / 365} years`;
  if (days % 30 === 0) return days === 30 ? '1 month' : `${days / 30} months`;
  return days === 1 ? '1 day' : `${days} days`;
}

export async function renderShop({ tenant, main }) {
  main.replaceChildren(h('section', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading the plans…')));
  let shop;
  try {
    shop = await api.get(`/v1/shop/${seg(tenant)}`);
  } catch (err) {
    main.replaceChildren(h('section', { class: 'panel auth-card' },
      h('h1', {}, 'The shop is unavailable'),
      h('div', { class: 'error-box', attrs: { role: 'alert' }, dataset: { errorCode: err.code ?? 'error' } },
        h('p', {}, err.code === 'tenant_not_found' ? 'This shop does not exist. Check the link you were sent.' : `The server did not answer (${err.message}). Reload to try again.`))));
    return null;
  }
  const signedIn = !!shop.customer;
  const head = h('div', { class: 'shop-head' },
    h('h1', {}, 'Choose your plan'),
    signedIn
      ? h('p', { class: 'muted', id: 'shop-who' }, 'Checkout opens on Sell.app with ', h('strong', {}, shop.customer.email), ' filled in: pay with this email so the plan lands on this account.')
      : h('p', { class: 'notice', id: 'shop-signin', attrs: { role: 'status' } },
        link(pagePath(tenant, 'login'), 'Log in'), ' or ', link(pagePath(tenant, 'signup'), 'create an account'),
        ' to buy: your plan is attached to your account by its email.'));
  if (!shop.cards.length) {
    main.replaceChildren(h('section', { class: 'panel shop' }, head, h('p', { class: 'empty-state' }, 'No plans are on sale right now.')));
    return null;
  }
  const cards = shop.cards.map((c) => {
    const choices = h('div', { class: 'shop-options', attrs: { role: 'list' } }, c.options.map((o) => {
      const href = o.checkout_url && safeUrl(o.checkout_url);
      let buy;
      if (href) {
        buy = safeLink(href, o.trial ? 'Start the trial' : 'Buy', { class: `btn ${o.featured ? 'primary' : ''} buy`, dataset: { option: o.id } });
        // Checkout is the next step of this journey (it comes back to the return page), not a
        // side trip in another tab; the referrer stays withheld.
        buy.removeAttribute('target');
        buy.rel = 'noreferrer';
      } else {
        buy = link(pagePath(tenant, 'login'), 'Log in to buy', { class: 'btn buy', dataset: { option: o.id } });
      }
      return h('div', { class: `shop-option${o.featured ? ' featured' : ''}`, attrs: { role: 'listitem' }, dataset: { option: o.id, trial: String(o.trial) } },
        h('p', { class: 'shop-duration' }, durationLabel(o.duration_days), o.trial ? h('span', { class: 'badge ok trial-label' }, 'Free trial') : null,
          o.featured ? h('span', { class: 'badge accent' }, 'Best value') : null),
        h('p', { class: 'shop-price' }, o.display_price),
        o.highlights.length ? h('ul', { class: 'shop-highlights' }, o.highlights.map((x) => h('li', {}, x))) : null,
        buy);
    }));
    return h('section', { class: 'panel shop-card', dataset: { tier: c.tier }, attrs: { 'aria-labelledby': `card-${c.tier}` } },
      h('div', { class: 'shop-card-head' },
        h('h2', { id: `card-${c.tier}` }, c.title),
        c.badge ? h('span', { class: 'badge accent shop-badge' }, c.badge) : null),
      c.subtitle ? h('p', { class: 'shop-subtitle' }, c.subtitle) : null,
      c.description ? h('p', { class: 'muted shop-description' }, c.description) : null,
      choices);
  });
  main.replaceChildren(h('div', { class: 'shop', id: 'shop' }, head, h('div', { class: 'shop-cards' }, cards),
    signedIn ? h('p', { class: 'muted' }, link(pagePath(tenant), 'Back to your dashboard')) : null));
  return null;
}

const MESSAGES = {
  pending: ['Waiting for the payment', 'Sell.app has not confirmed the payment yet. This page updates by itself.'],
  active: ['Your plan is active', 'Thank you! Taking you to your dashboard…'],
  held: ['Paid with another email', 'The payment used an email that has no account here. Sign up with that email and the plan is applied at once.'],
  needs_operator: ['Paid, and being looked at', 'The payment arrived, but the plan could not be applied automatically. Our team has been notified; no need to pay again.'],
  failed: ['The payment did not go through', 'The order was not completed, or it was refunded or disputed. You have not been given access.'],
};

export async function renderReturn({ tenant, main, navigate }) {
  const invoice = new URLSearchParams(window.location.search).get('invoice');
  const title = h('h1', { id: 'return-title' });
  const text = h('p', { id: 'return-text' });
  const state = h('p', { class: 'return-state', id: 'return-state', attrs: { role: 'status', 'aria-live': 'polite' } });
  const actions = h('p', { class: 'return-actions' });
  const box = h('section', { class: 'panel auth-card checkout-return', dataset: { state: 'pending' } }, title, state, text, actions);
  main.replaceChildren(box);
  const show = (s, extra = '') => {
    const [t, m] = MESSAGES[s] ?? MESSAGES.pending;
    box.dataset.state = s;
    title.textContent = t;
    state.replaceChildren(h('span', { class: `badge ${s === 'active' ? 'ok' : s === 'failed' ? 'danger' : 'warn'}` }, s.replace('_', ' ')));
    text.textContent = extra ? `${m} ${extra}` : m;
  };
  if (!invoice) {
    show('pending');
    text.textContent = 'No order was named in the link. If you just paid, your plan shows on your dashboard within a minute.';
    actions.replaceChildren(link(pagePath(tenant), 'Go to your dashboard', { class: 'btn primary' }));
    return null;
  }
  show('pending');
  actions.replaceChildren(link(pagePath(tenant), 'Go to your dashboard', { class: 'btn' }), ' ', link(pagePath(tenant, 'shop'), 'Back to the shop', { class: 'btn' }));
  const started = Date.now();
  let timer = null;
  let stopped = false;
  async function poll() {
    if (stopped) return;
    try {
      const { order } = await api.get(`/v1/shop/${seg(tenant)}/orders/${seg(invoice)}`);
      const s = order.checkout.state;
      if (s === 'active') {
        show('active', order.tier ? `(${order.tier})` : '');
        timer = setTimeout(() => navigate('', { text: 'Your plan is active. Enjoy the signals!', kind: 'ok' }), 2500);
        return;
      }
      if (s === 'failed') {
        show('failed', order.checkout.reason === 'trial_already_used' ? 'You already used your free trial.' : '');
        return;
      }
      if (s === 'held') { show('held', order.checkout.email ? `(${order.checkout.email})` : ''); return; }
      if (s === 'needs_operator') { show('needs_operator'); return; }
      if (Date.now() - started > PATIENCE_MS) {
        show('pending', 'It is taking longer than usual: the plan appears on your dashboard as soon as Sell.app confirms. You can leave this page.');
        return;
      }
    } catch (err) {
      if (err.status === 401) { navigate('login', { text: 'Log in to see your order.', kind: 'warn' }, { replace: true }); return; }
      if (err.code === 'order_not_found') { show('failed', 'This order does not belong to this account.'); return; }
      // A passing fault of ours: keep asking.
    }
    timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

export { durationLabel };
