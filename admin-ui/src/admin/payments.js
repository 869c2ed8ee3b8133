// A tenant's payments: reconciliation status and the Sell.app store, the webhook events with
// their outcomes (replay one, or all failed/unmatched/stuck), flagged customers, sales figures
// from our own ledger, and the shop catalog (tier cards and purchase options, published only
// when linked to an enabled policy).
import { seg, showError } from '../shared/api.js';
import { busy, checkbox, field, h, link, option } from '../shared/dom.js';
import { absoluteTime, relativeTime } from '../shared/format.js';
import { hashFor } from '../shared/router.js';
import { dataTable, emptyRow, errorSlot, panel } from '../shared/widgets/index.js';

const OUTCOMES = ['', 'failed', 'unmatched', 'received', 'applied', 'ignored'];

function money(revenue) {
  const parts = Object.entries(revenue ?? {}).map(([cur, minor]) => `${(minor / 100).toFixed(2)} ${cur}`);
  return parts.length ? parts.join(' + ') : '0';
}

function outcomeBadge(o) {
  return h('span', { class: `badge outcome-${o}`, dataset: { outcome: o } }, o);
}

export async function renderPayments(root, { api, setCrumbs }, tenantKey) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}`;
  const pay = `${base}/payments`;
  setCrumbs([['Tenants', '#/'], [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })], ['Payments', hashFor('t/:tenant/payments', { tenant: tenantKey })]]);
  document.title = `Payments · ${tenantKey} · Signal Relay`;

  // --- reconciliation and store -------------------------------------------------------------
  const recBox = h('div', { class: 'rec-status', id: 'reconciliation-status' });
  const recErrors = errorSlot();
  const storeInput = h('input', { type: 'text', name: 'store_id', inputMode: 'numeric', autocomplete: 'off', maxLength: 32 });
  const storeErrors = errorSlot();
  const storeSave = h('button', { type: 'submit', class: 'btn' }, 'Save store');
  const storeForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      showError(storeErrors, null);
      const v = storeInput.value.trim();
      try {
        await busy(storeSave, () => api.put(`${pay}/store`, { store_id: v === '' ? null : v, reason: 'console' }));
        await loadRec();
      } catch (err) { showError(storeErrors, err, { title: 'Could not save the store' }); }
    },
  }, h('div', { class: 'form-row' }, field('Sell.app store id', storeInput, 'Webhooks of any other store are ignored (recorded as other_store). Empty: any store.').wrap, storeSave), storeErrors);

  async function loadRec() {
    showError(recErrors, null);
    try {
      const [{ reconciliation: r }, { store }] = await Promise.all([api.get(`${pay}/reconciliation`), api.get(`${pay}/store`)]);
      storeInput.value = store.store_id ?? '';
      const last = r.last_run;
      recBox.dataset.state = r.state;
      recBox.replaceChildren(...[
        h('p', {}, h('span', { class: `badge rec-${r.state}` }, r.enabled ? 'Reconciliation on' : 'Reconciliation off'), ' ', h('span', { class: 'muted' }, r.message)),
        r.enabled ? h('p', { class: 'muted' }, `Reads ${r.api_base}, invoices of the last ${r.horizon_days} days, at every scheduled run.`) : null,
        last
          ? h('p', { class: 'last-run' }, `Last run ${relativeTime(last.finished_at)}: ${last.invoices_seen} invoices of this tenant, ${last.decided} decided, ${last.revoked} revoked`,
            last.error ? h('span', { class: 'error-inline' }, ` — error: ${last.error}`) : '.')
          : h('p', { class: 'muted last-run' }, r.enabled ? 'No run yet.' : ''),
        store.configured ? null : h('p', { class: 'warn-inline' }, 'No Sell.app store set: webhooks of any store signed with this secret are accepted.'),
      ].filter(Boolean));
    } catch (err) { showError(recErrors, err, { title: 'Reconciliation status unavailable' }); }
  }

  // --- webhook events -----------------------------------------------------------------------
  const evBody = h('tbody');
  const evErrors = errorSlot();
  const evNote = h('p', { class: 'muted', attrs: { 'aria-live': 'polite' } });
  const filter = h('select', { name: 'outcome', attrs: { 'aria-label': 'Outcome' } }, OUTCOMES.map((o) => option(o, o || 'every outcome')));
  filter.addEventListener('change', () => loadEvents());
  const replayAll = h('button', { type: 'button', class: 'btn', id: 'replay-all' }, 'Replay all failed / unmatched');
  replayAll.addEventListener('click', async () => {
    showError(evErrors, null);
    try {
      const r = await busy(replayAll, () => api.post(`${pay}/events/replay`, { reason: 'console' }));
      evNote.textContent = r.replayed.length ? `Replayed ${r.replayed.length}: ${r.replayed.map((x) => `${x.before} → ${x.outcome}`).join(', ')}` : 'Nothing to replay.';
      await Promise.all([loadEvents(), loadFlags()]);
    } catch (err) { showError(evErrors, err, { title: 'Replay failed' }); }
  });

  async function loadEvents() {
    showError(evErrors, null);
    try {
      const q = filter.value ? `?outcome=${seg(filter.value)}&limit=100` : '?limit=100';
      const { events } = await api.get(`${pay}/events${q}`);
      evBody.replaceChildren(...(events.length ? events.map((e) => {
        const btn = e.replayable ? h('button', { type: 'button', class: 'btn small' }, 'Replay') : null;
        btn?.addEventListener('click', async () => {
          showError(evErrors, null);
          try {
            const r = await busy(btn, () => api.post(`${pay}/events/${seg(e.event_id)}/replay`, { reason: 'console' }));
            evNote.textContent = `${e.event_id}: ${r.replayed[0].before} → ${r.replayed[0].outcome}${r.replayed[0].reason ? ` (${r.replayed[0].reason})` : ''}`;
            await Promise.all([loadEvents(), loadFlags()]);
          } catch (err) { showError(evErrors, err, { title: `Could not replay ${e.event_id}` }); }
        });
        return h('tr', { dataset: { event: e.event_id, outcome: e.outcome } },
          h('td', { title: absoluteTime(e.received_at) }, relativeTime(e.received_at)),
          h('td', {}, h('code', {}, e.event ?? '—')),
          h('td', {}, e.order_id ?? '—', e.store_id ? h('span', { class: 'sub' }, `store ${e.store_id}`) : null),
          h('td', {}, outcomeBadge(e.outcome)),
          h('td', {}, e.reason ? h('code', {}, e.reason) : '', e.error ? h('span', { class: 'sub error-inline' }, e.error) : null),
          h('td', {}, String(e.attempts)),
          h('td', {}, btn));
      }) : [emptyRow(7, 'No webhook events yet.')]));
    } catch (err) { showError(evErrors, err, { title: 'Could not load the events' }); }
  }

  // --- flags --------------------------------------------------------------------------------
  const flagBody = h('tbody');
  const flagErrors = errorSlot();
  async function loadFlags() {
    showError(flagErrors, null);
    try {
      const { flags } = await api.get(`${pay}/flags`);
      flagBody.replaceChildren(...(flags.length ? flags.map((f) => h('tr', { dataset: { flag: f.order_id } },
        h('td', {}, link(hashFor('t/:tenant/customers/:id', { tenant: tenantKey, id: f.customer_id }), f.email ?? f.customer_id)),
        h('td', {}, h('span', { class: `badge flag-${f.reason}` }, f.reason)),
        h('td', {}, f.order_id),
        h('td', { title: absoluteTime(f.flagged_at) }, relativeTime(f.flagged_at)))) : [emptyRow(4, 'No flagged customers.')]));
    } catch (err) { showError(flagErrors, err, { title: 'Could not load the flags' }); }
  }

  // --- sales --------------------------------------------------------------------------------
  const salesBody = h('tbody');
  const salesErrors = errorSlot();
  async function loadSales() {
    showError(salesErrors, null);
    try {
      const { sales, option_labels: labels } = await api.get(`${pay}/sales`);
      salesBody.replaceChildren(...sales.map((w) => h('tr', { dataset: { days: String(w.days) } },
        h('th', { scope: 'row' }, `${w.days} days`),
        h('td', { dataset: { k: 'sales' } }, String(w.sales)),
        h('td', { dataset: { k: 'revenue' } }, money(w.revenue)),
        h('td', { dataset: { k: 'renewals' } }, String(w.renewals)),
        h('td', { dataset: { k: 'new_customers' } }, String(w.new_customers)),
        h('td', { dataset: { k: 'trials' } }, String(w.trials)),
        h('td', { dataset: { k: 'revoked' } }, String(w.revoked)),
        h('td', {}, w.top_options.length ? h('ol', { class: 'top-options' }, w.top_options.map((o) => h('li', {}, `${labels[o.option] ?? o.option}: ${o.sales}`))) : '—'))));
    } catch (err) { showError(salesErrors, err, { title: 'Sales figures unavailable' }); }
  }

  // --- catalog ------------------------------------------------------------------------------
  const catErrors = errorSlot();
  const catNote = h('p', { class: 'muted', attrs: { 'aria-live': 'polite' } });
  const cardsBox = h('div', { class: 'catalog-cards' });
  const optionsBox = h('div', { class: 'catalog-options' });
  let tiers = [];
  let policies = [];
  let cards = [];
  let options = [];

  const text = (name, value, label, props = {}) => field(label, h('input', { type: 'text', name, value: value ?? '', autocomplete: 'off', ...props })).wrap;

  function cardEditor(c, i) {
    const tier = h('select', { name: 'tier' }, tiers.map((t) => option(t.key, `${t.name} (${t.key})`, t.key === c.tier)));
    const active = checkbox('Active', c.active, { name: 'active' });
    const remove = h('button', { type: 'button', class: 'btn small danger' }, 'Remove');
    remove.addEventListener('click', () => { read(); cards.splice(i, 1); draw(); });
    return h('fieldset', { class: 'catalog-item', dataset: { card: String(i) } },
      h('legend', {}, `Card ${i + 1}`),
      h('div', { class: 'form-row' }, field('Tier', tier).wrap, text('title', c.title, 'Title', { required: true, maxLength: 80 }), text('subtitle', c.subtitle, 'Subtitle', { maxLength: 80 }), text('badge', c.badge, 'Badge', { maxLength: 80 })),
      h('div', { class: 'form-row' }, field('Description', h('textarea', { name: 'description', rows: 2, maxLength: 2000 }, c.description ?? '')).wrap,
        field('Order', h('input', { type: 'number', name: 'order', value: String(c.order ?? 0), step: 1, class: 'narrow-input' })).wrap, active.wrap, remove));
  }

  function optionEditor(o, i) {
    const tier = h('select', { name: 'tier' }, tiers.map((t) => option(t.key, t.key, t.key === o.tier)));
    const policy = h('select', { name: 'policy_id' }, option('', '— choose a policy —', !o.policy_id),
      ...policies.map((p) => option(p.policy_id, `${p.policy_id}: ${p.tier}, ${p.duration_days} days${p.trial ? ', trial' : ''}${p.enabled ? '' : ' (disabled)'}`, p.policy_id === o.policy_id)));
    // A policy fixes tier and duration: picking one fills them in.
    policy.addEventListener('change', () => {
      const p = policies.find((x) => x.policy_id === policy.value);
      if (!p) return;
      tier.value = p.tier;
      days.value = String(p.duration_days);
    });
    const days = h('input', { type: 'number', name: 'duration_days', value: String(o.duration_days ?? 30), min: 1, max: 3650, step: 1, class: 'narrow-input' });
    const featured = checkbox('Featured', o.featured, { name: 'featured' });
    const active = checkbox('Published', o.active, { name: 'active' });
    const remove = h('button', { type: 'button', class: 'btn small danger' }, 'Remove');
    remove.addEventListener('click', () => { read(); options.splice(i, 1); draw(); });
    return h('fieldset', { class: 'catalog-item', dataset: { option: String(i) } },
      h('legend', {}, `Option ${i + 1}`),
      h('div', { class: 'form-row' }, text('id', o.id, 'Option id', { required: true, maxLength: 64 }), field('Policy', policy).wrap, field('Tier', tier).wrap, field('Days', days).wrap),
      h('div', { class: 'form-row' }, text('display_price', o.display_price, 'Price shown', { required: true, maxLength: 80 }),
        text('checkout_url', o.checkout_url, 'Sell.app checkout URL (https)', { type: 'url', maxLength: 500 }),
        text('highlights', (o.highlights ?? []).join('; '), 'Highlights (separated by ;)', { maxLength: 800 })),
      h('div', { class: 'form-row' }, featured.wrap, active.wrap, remove));
  }

  const val = (box, name) => box.querySelector(`[name="${name}"]`);
  function read() {
    cards = [...cardsBox.querySelectorAll('[data-card]')].map((f) => ({
      tier: val(f, 'tier').value,
      title: val(f, 'title').value.trim(),
      subtitle: val(f, 'subtitle').value.trim() || null,
      badge: val(f, 'badge').value.trim() || null,
      description: val(f, 'description').value.trim(),
      order: Number(val(f, 'order').value || 0),
      active: val(f, 'active').checked,
    }));
    options = [...optionsBox.querySelectorAll('[data-option]')].map((f) => ({
      id: val(f, 'id').value.trim(),
      tier: val(f, 'tier').value,
      policy_id: val(f, 'policy_id').value,
      duration_days: Number(val(f, 'duration_days').value || 0),
      display_price: val(f, 'display_price').value.trim(),
      checkout_url: val(f, 'checkout_url').value.trim(),
      highlights: val(f, 'highlights').value.split(';').map((s) => s.trim()).filter(Boolean),
      featured: val(f, 'featured').checked,
      active: val(f, 'active').checked,
    }));
  }

  function draw(problems = []) {
    cardsBox.replaceChildren(...(cards.length ? cards.map(cardEditor) : [h('p', { class: 'muted' }, 'No tier cards yet.')]));
    optionsBox.replaceChildren(...(options.length ? options.map(optionEditor) : [h('p', { class: 'muted' }, 'No purchase options yet.')]));
    // Marks the inputs the server named (`options[2].policy_id`).
    for (const p of problems) {
      const m = /^(cards|options)\[(\d+)\]\.(\w+)/.exec(p.field ?? '');
      if (!m) continue;
      const box = (m[1] === 'cards' ? cardsBox : optionsBox).querySelector(`[data-${m[1] === 'cards' ? 'card' : 'option'}="${m[2]}"]`);
      const input = box?.querySelector(`[name="${m[3]}"]`);
      if (input) { input.setAttribute('aria-invalid', 'true'); input.title = p.problem; }
    }
  }

  const addCard = h('button', { type: 'button', class: 'btn small' }, 'Add card');
  addCard.addEventListener('click', () => { read(); cards.push({ tier: tiers[0]?.key ?? '', title: '', description: '', order: cards.length + 1, active: true }); draw(); });
  const addOption = h('button', { type: 'button', class: 'btn small' }, 'Add option');
  addOption.addEventListener('click', () => { read(); options.push({ id: `option-${options.length + 1}`, tier: tiers[0]?.key ?? '', policy_id: '', duration_days: 30, display_price: '', checkout_url: 'https://', highlights: [], featured: false, active: false }); draw(); });
  const saveCat = h('button', { type: 'submit', class: 'btn primary', id: 'save-catalog' }, 'Save catalog');
  const catForm = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      showError(catErrors, null);
      catNote.textContent = '';
      read();
      try {
        await busy(saveCat, () => api.put(`${pay}/catalog`, { cards, options, reason: 'console' }));
        catNote.textContent = `Saved: ${cards.length} cards, ${options.filter((o) => o.active).length} published options.`;
        await loadCatalog();
      } catch (err) {
        showError(catErrors, err, { title: 'The catalog was not saved' });
        draw(err.details ?? []);
      }
    },
  },
  h('h3', {}, 'Tier cards'), cardsBox, h('p', {}, addCard),
  h('h3', {}, 'Purchase options'), optionsBox, h('p', {}, addOption),
  catErrors, h('div', { class: 'form-row' }, saveCat, link(`/t/${encodeURIComponent(tenantKey)}/shop/`, 'Open the shop', { class: 'btn' })), catNote);

  async function loadCatalog() {
    try {
      const [t, p, c] = await Promise.all([api.get(`${base}/tiers`), api.get(`${pay}/policies`), api.get(`${pay}/catalog`)]);
      tiers = t.tiers ?? [];
      policies = p.policies ?? [];
      cards = c.catalog.cards;
      options = c.catalog.options;
      draw(c.warnings);
      if (c.warnings.length) {
        showError(catErrors, { code: 'catalog_warnings', message: 'published options the shop hides until fixed:', details: c.warnings }, { title: 'Check the catalog' });
      }
    } catch (err) { showError(catErrors, err, { title: 'Could not load the catalog' }); }
  }

  root.append(
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', {}, 'Payments'), h('p', { class: 'muted' }, 'Tenant ', h('code', {}, tenantKey), ' · Sell.app webhooks, reconciliation, the shop and its sales')),
      h('span', { class: 'spacer' }),
      h('div', { class: 'actions' }, link(hashFor('t/:tenant', { tenant: tenantKey }), 'Back to tenant', { class: 'btn' }))),
    h('div', { class: 'grid-2' },
      panel({ titleId: 'rec-title', title: 'Reconciliation' }, recErrors, recBox),
      panel({ titleId: 'store-title', title: 'Sell.app store' }, storeForm)),
    panel({
      titleId: 'events-title',
      title: 'Webhook events',
      head: [h('span', { class: 'spacer' }), filter, replayAll],
    }, evErrors, evNote, dataTable('events-title', ['Received', 'Event', 'Order', 'Outcome', 'Reason', 'Attempts', ''], evBody)),
    panel({ titleId: 'flags-title', title: 'Flagged customers' }, flagErrors, dataTable('flags-title', ['Customer', 'Why', 'Order', 'When'], flagBody)),
    panel({ titleId: 'sales-title', title: 'Sales (from our own log)' }, salesErrors,
      dataTable('sales-title', ['Window', 'Sales', 'Revenue', 'Renewals', 'New customers', 'Trials', 'Revoked', 'Top options'], salesBody)),
    panel({ titleId: 'catalog-title', title: 'Shop catalog' }, catForm));

  await Promise.all([loadRec(), loadEvents(), loadFlags(), loadSales(), loadCatalog()]);
  root.dataset.loaded = 'true';
  return () => {};
}
