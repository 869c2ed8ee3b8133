// A tenant's plans (tiers: key, name, rank) and which tier each source channel needs on the
// customer dashboard (hidden by default).
import { seg, showError } from '../shared/api.js';
import { busy, field, h, option } from '../shared/dom.js';
import { hashFor } from '../shared/router.js';
import { dataTable, emptyRow, errorSlot, panel, SLUG_HINT, SLUG_PATTERN } from '../shared/widgets/index.js';

export async function renderPlans(root, { api, setCrumbs }, tenantKey) {
  const base = `/v1/admin/tenants/${seg(tenantKey)}`;
  setCrumbs([['Tenants', '#/'], [tenantKey, hashFor('t/:tenant', { tenant: tenantKey })], ['Plans', hashFor('t/:tenant/plans', { tenant: tenantKey })]]);
  document.title = `Plans · ${tenantKey} · Signal Relay`;

  let tiers = [];
  const tierBody = h('tbody');
  const visBody = h('tbody');
  const tierErrors = errorSlot();
  const visErrors = errorSlot();

  const keyInput = h('input', { type: 'text', name: 'key', required: true, pattern: SLUG_PATTERN, maxLength: 64, autocomplete: 'off', spellcheck: false });
  const nameInput = h('input', { type: 'text', name: 'name', required: true, maxLength: 100, autocomplete: 'off' });
  const rankInput = h('input', { type: 'number', name: 'rank', required: true, min: 0, max: 1000, step: 1 });
  const createErrors = errorSlot();
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add plan');
  const form = h('form', {
    attrs: { 'aria-labelledby': 'new-tier-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(createErrors, null);
      try {
        await busy(submit, () => api.post(`${base}/tiers`, { key: keyInput.value.trim(), name: nameInput.value.trim(), rank: Number(rankInput.value) }));
        form.reset();
        await load();
      } catch (err) {
        showError(createErrors, err, { title: 'Could not add the plan' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('Key', keyInput, SLUG_HINT).wrap,
    field('Name', nameInput, 'Shown to customers.').wrap,
    field('Rank', rankInput, 'Higher ranks see everything lower ranks see.').wrap,
    submit),
  createErrors);

  function tierRow(t) {
    const name = h('input', { type: 'text', value: t.name, maxLength: 100, attrs: { 'aria-label': `Name of ${t.key}` } });
    const rank = h('input', { type: 'number', value: String(t.rank), min: 0, max: 1000, step: 1, class: 'narrow-input', attrs: { 'aria-label': `Rank of ${t.key}` } });
    const save = h('button', { type: 'button', class: 'btn small' }, 'Save');
    const del = h('button', { type: 'button', class: 'btn small danger' }, 'Delete');
    save.addEventListener('click', async () => {
      showError(tierErrors, null);
      const body = {};
      if (name.value.trim() !== t.name) body.name = name.value.trim();
      if (Number(rank.value) !== t.rank) body.rank = Number(rank.value);
      if (!Object.keys(body).length) return;
      try {
        await busy(save, () => api.patch(`${base}/tiers/${seg(t.key)}`, body));
        await load();
      } catch (err) {
        showError(tierErrors, err, { title: `Could not change ${t.key}` });
      }
    });
    del.addEventListener('click', async () => {
      showError(tierErrors, null);
      try {
        await busy(del, () => api.del(`${base}/tiers/${seg(t.key)}`));
        await load();
      } catch (err) {
        showError(tierErrors, err, { title: `Could not delete ${t.key}` });
      }
    });
    return h('tr', { dataset: { tier: t.key } },
      h('td', {}, h('code', {}, t.key)),
      h('td', {}, name),
      h('td', {}, rank),
      h('td', { class: 'actions' }, save, ' ', del));
  }

  function visRow(c) {
    const select = h('select', { attrs: { 'aria-label': `Who sees #${c.name || c.channel_id}` } },
      option('', 'Hidden', !c.min_tier),
      tiers.map((t) => option(t.key, `${t.name} and above`, c.min_tier === t.key)));
    const state = h('span', { class: 'muted small', attrs: { 'aria-live': 'polite' } });
    select.addEventListener('change', async () => {
      showError(visErrors, null);
      select.disabled = true;
      state.textContent = 'saving…';
      try {
        await api.put(`${base}/channel-visibility/${seg(c.channel_id)}`, { min_tier: select.value || null });
        c.min_tier = select.value || null;
        state.textContent = 'saved';
      } catch (err) {
        select.value = c.min_tier ?? '';
        state.textContent = '';
        showError(visErrors, err, { title: `Could not change #${c.name || c.channel_id}` });
      } finally {
        select.disabled = false;
      }
    });
    return h('tr', { dataset: { channel: c.channel_id } },
      h('td', {}, h('span', { class: 'channel-name' }, `#${c.name || c.channel_id}`), h('span', { class: 'sub' }, c.channel_id)),
      h('td', {}, c.guild_name || c.guild_id || ''),
      h('td', {}, select, ' ', state));
  }

  let loads = 0;
  async function load() {
    const [t, v] = await Promise.all([api.get(`${base}/tiers`), api.get(`${base}/channel-visibility`)]);
    loads += 1;
    root.dataset.loads = String(loads);
    tiers = t.tiers ?? [];
    tierBody.replaceChildren(...(tiers.length ? tiers.map(tierRow) : [emptyRow(4, 'No plans yet. Add the first one below.')]));
    const channels = v.channels ?? [];
    visBody.replaceChildren(...(channels.length ? channels.map(visRow) : [emptyRow(3, 'No source channels yet: mark channels as sources on a connector first.')]));
  }

  root.append(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Plans and channel visibility'), h('p', { class: 'muted' }, 'Tenant ', h('code', {}, tenantKey)))),
    panel({ titleId: 'tiers-title', title: 'Plans' },
      tierErrors,
      dataTable('tiers-title', ['Key', 'Name', 'Rank', ''], tierBody)),
    panel({ titleId: 'new-tier-title', title: 'New plan', bare: true }, form),
    panel({ titleId: 'vis-title', title: 'Who sees each channel' },
      h('p', { class: 'muted' }, 'A channel is hidden from every customer until you open it to a plan; higher-ranked plans see it too. Changes reach open dashboards at once.'),
      visErrors,
      dataTable('vis-title', ['Channel', 'Guild', 'Visible to'], visBody)));
  try {
    await load();
  } catch (err) {
    showError(tierErrors, err, { title: 'Could not load the plans' });
  }
  root.dataset.loaded = 'true';
  return () => {};
}
