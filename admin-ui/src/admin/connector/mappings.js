// Mappings: which enabled source channel is mirrored into which target channel, with a
// priority and optional filters and transform (JSON objects). Targets are picked from the bot's
// catalog (channels of the guilds assigned to this tenant, with what the bot lacks there) or
// from the connector's own enabled targets.
import { seg, showError } from '../../shared/api.js';
import { busy, field, h, option, replace } from '../../shared/dom.js';
import { compareSnowflakes } from '../../shared/format.js';
import { dataTable, emptyRow, errorSlot, panel, seatBadge } from '../../shared/widgets/index.js';

const compactJson = (v) => {
  const s = JSON.stringify(v ?? {});
  return s === '{}' ? '—' : s;
};

function parseObject(text, name) {
  let v;
  try { v = JSON.parse(text.trim() || '{}'); } catch (e) {
    throw Object.assign(new Error(`${name} is not valid JSON: ${e.message}`), { code: 'invalid_json' });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw Object.assign(new Error(`${name} must be a JSON object`), { code: 'invalid_json' });
  }
  return v;
}

/** Why a mapping forwards nothing right now, or null when it is active. */
function mappingProblem(st, m) {
  const src = st.sources.find((s) => s.channel_id === m.source_channel_id);
  if (!src || !src.is_source) return 'source is not an available source channel';
  if (!src.is_enabled) return 'source channel is disabled';
  const bot = st.catalogChannel(m.target_channel_id);
  if (bot) return bot.warnings.length ? bot.warnings.map((w) => w.message).join(' ') : null;
  const tgt = st.sources.find((s) => s.channel_id === m.target_channel_id);
  if (!tgt || !tgt.is_target) return 'target is not an available target channel (nor a channel of this tenant\'s bot guilds)';
  if (!tgt.is_enabled) return 'target channel is disabled';
  return null;
}

export function mappingsPanel({ api, st }) {
  const { base } = st;
  const errors = errorSlot();
  const mapSource = h('select', { name: 'source_channel_id', id: 'mapping-source' });
  const mapTarget = h('select', { name: 'target_channel_id', id: 'mapping-target' });
  const mapPriority = h('input', { type: 'number', name: 'priority', value: '0', min: -1000000, max: 1000000, step: 1 });
  const mapFilters = h('textarea', { name: 'filters_json', rows: 3, value: '{}', spellcheck: false });
  const mapTransform = h('textarea', { name: 'transform_json', rows: 3, value: '{}', spellcheck: false });
  const mapHint = h('p', { class: 'hint mapping-hint' });
  const targetWarnings = h('div', { id: 'mapping-target-warnings', attrs: { 'aria-live': 'polite' } });
  const addMappingBtn = h('button', { type: 'submit', class: 'btn primary', id: 'add-mapping' }, 'Add mapping');
  const tbody = h('tbody');
  const count = h('span', { class: 'badge' });

  /** A catalog channel's option: where it sits, and whether the bot can post there. */
  function catalogOption(c) {
    const where = c.parent_name ? `${c.parent_name} › #${c.name}` : `#${c.name}`;
    const warn = c.warnings.length ? ` — ⚠ ${c.warnings.map((w) => w.code.replaceAll('_', ' ')).join(', ')}` : '';
    const o = option(c.channel_id, `${where}${warn}`);
    if (c.warnings.length) o.dataset.warnings = c.warnings.map((w) => w.code).join(' ');
    return o;
  }

  /** What the bot lacks in the chosen target, said before the mapping is saved. */
  function showTargetWarnings() {
    const c = st.catalogChannel(mapTarget.value);
    if (!c || !c.warnings.length) {
      targetWarnings.replaceChildren();
      return;
    }
    replace(targetWarnings, h('div', { class: 'notice warn', attrs: { role: 'status' } },
      h('strong', {}, `The bot cannot post in #${c.name} yet:`),
      h('ul', {}, c.warnings.map((w) => h('li', { dataset: { code: w.code } }, w.message)))));
  }

  /** The tenant's catalog channels (the bot's guilds assigned to it). */
  async function refresh() {
    try {
      const r = await api.get(`/v1/admin/tenants/${seg(st.tenantKey)}/catalog/channels`);
      st.update({ catalogChannels: r.channels ?? [] });
    } catch (err) {
      showError(errors, err, { title: 'Could not load the bot\'s channels' });
    }
    try {
      const r = await api.get(`/v1/admin/tenants/${seg(st.tenantKey)}/seats`);
      st.update({ seats: r.seats ?? [] });
    } catch (err) {
      showError(errors, err, { title: 'Could not load the seat status' });
    }
  }

  function renderForm() {
    const keepS = mapSource.value;
    const keepT = mapTarget.value;
    const srcs = st.sources.filter((s) => s.is_enabled && s.is_source);
    const catalog = st.catalogChannels;
    const own = st.sources.filter((s) => s.is_enabled && s.is_target && !st.catalogChannel(s.channel_id));
    mapSource.replaceChildren(option('', srcs.length ? 'Select a source channel…' : 'No enabled source channels'),
      ...srcs.map((s) => option(s.channel_id, `${st.channelLabel(s.channel_id)} (${s.channel_id})`)));
    const guilds = [...new Map(catalog.map((c) => [c.guild_id, c.guild_name || c.guild_id])).entries()];
    mapTarget.replaceChildren(option('', catalog.length || own.length ? 'Select a target channel…' : 'No target channels'),
      ...guilds.map(([gid, name]) => h('optgroup', { label: `Bot in ${name}` },
        catalog.filter((c) => c.guild_id === gid).map(catalogOption))),
      own.length ? h('optgroup', { label: 'Connector targets' },
        own.map((s) => option(s.channel_id, `${st.channelLabel(s.channel_id)} (${s.channel_id})`))) : null);
    if (srcs.some((s) => s.channel_id === keepS)) mapSource.value = keepS;
    if ([...catalog, ...own].some((s) => s.channel_id === keepT)) mapTarget.value = keepT;
    showTargetWarnings();
    const tgts = [...catalog, ...own];
    const missing = [];
    if (!srcs.length) missing.push('mark an available channel as an enabled Source');
    if (!tgts.length) missing.push('assign a bot guild to this tenant (Catalog) or mark a channel as an enabled Target');
    mapHint.textContent = missing.length
      ? `To add a mapping, ${missing.join(' and ')}.`
      : 'Sources on the left; targets on the right: the bot\'s channels in this tenant\'s guilds (see Catalog), then the connector\'s own targets.';
    syncForm();
  }

  function syncForm() {
    const exists = st.mappings.some((m) => m.source_channel_id === mapSource.value && m.target_channel_id === mapTarget.value);
    addMappingBtn.textContent = exists ? 'Update mapping' : 'Add mapping';
    addMappingBtn.disabled = !mapSource.value || !mapTarget.value;
  }
  mapSource.addEventListener('change', syncForm);
  mapTarget.addEventListener('change', syncForm);

  function renderTable() {
    count.textContent = String(st.mappings.length);
    const rows = [...st.mappings].sort((a, b) => b.priority - a.priority || compareSnowflakes(a.source_channel_id, b.source_channel_id));
    tbody.replaceChildren(...(rows.length ? rows.map(mappingRow) : [emptyRow(7, 'No mappings yet.')]));
  }

  function mappingRow(m) {
    const problem = mappingProblem(st, m);
    const label = `${st.channelLabel(m.source_channel_id)} to ${st.channelLabel(m.target_channel_id)}`;
    const removeBtn = h('button', { type: 'button', class: 'btn small danger', attrs: { 'aria-label': `Remove mapping ${label}` } }, 'Remove');
    removeBtn.addEventListener('click', async () => {
      if (!window.confirm(`Remove the mapping ${label}?`)) return;
      showError(errors, null);
      try {
        const r = await busy(removeBtn, () => api.del(`${base}/mappings/${seg(m.source_channel_id)}/${seg(m.target_channel_id)}`));
        st.setConfigVersion(r.config_version);
        st.update({ mappings: st.mappings.filter((x) => x !== m) });
      } catch (err) {
        showError(errors, err, { title: 'Could not remove the mapping' });
      }
    });
    return h('tr', { dataset: { source: m.source_channel_id, target: m.target_channel_id }, class: problem ? 'is-disabled' : '' },
      h('td', {}, h('span', { class: 'channel-name' }, st.channelLabel(m.source_channel_id)), h('span', { class: 'sub' }, m.source_channel_id)),
      h('td', { class: 'arrow', attrs: { 'aria-hidden': 'true' } }, '→'),
      h('td', {}, h('span', { class: 'channel-name' }, st.channelLabel(m.target_channel_id)),
        st.catalogChannel(m.target_channel_id) ? h('span', { class: 'sub' }, `bot in ${st.catalogChannel(m.target_channel_id).guild_name}`) : null,
        seatBadge(st.seatOf(m.target_channel_id)),
        h('span', { class: 'sub' }, m.target_channel_id)),
      h('td', {}, String(m.priority)),
      h('td', { class: 'rules' }, compactJson(m.filters_json) === '—' && compactJson(m.transform_json) === '—'
        ? h('span', { class: 'muted' }, 'forward all, unchanged')
        : [h('code', { title: 'filters' }, `filters ${compactJson(m.filters_json)}`), h('br'), h('code', { title: 'transform' }, `transform ${compactJson(m.transform_json)}`)]),
      h('td', {}, problem ? h('span', { class: 'badge warn', title: problem }, 'inactive') : h('span', { class: 'badge ok' }, 'active'),
        problem ? h('span', { class: 'sub' }, problem) : null),
      h('td', { class: 'actions' }, removeBtn));
  }

  // The pickers offer enabled sources and targets by name; the table marks mappings whose
  // channels are no longer both enabled, and the button says whether a pair already exists.
  st.subscribe(['sources', 'discovery', 'catalog'], renderForm);
  st.subscribe(['mappings'], syncForm);
  st.subscribe(['mappings', 'sources', 'discovery', 'catalog', 'seats'], renderTable);
  mapTarget.addEventListener('change', showTargetWarnings);

  const form = h('form', {
    class: 'add-mapping',
    attrs: { 'aria-label': 'Add a mapping' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(errors, null);
      const src = mapSource.value;
      const tgt = mapTarget.value;
      if (!src || !tgt) return;
      try {
        if (src === tgt) throw Object.assign(new Error('a channel cannot be mapped onto itself'), { code: 'same_channel' });
        const body = {
          filters_json: parseObject(mapFilters.value, 'Filters'),
          transform_json: parseObject(mapTransform.value, 'Transform'),
          priority: Number.parseInt(mapPriority.value || '0', 10) || 0,
        };
        const r = await busy(addMappingBtn, () => api.put(`${base}/mappings/${seg(src)}/${seg(tgt)}`, body));
        const row = r.mapping ?? { source_channel_id: src, target_channel_id: tgt, ...body };
        st.setConfigVersion(r.config_version);
        mapSource.value = '';
        mapTarget.value = '';
        mapPriority.value = '0';
        st.update({ mappings: [...st.mappings.filter((m) => !(m.source_channel_id === src && m.target_channel_id === tgt)), row] });
      } catch (err) {
        showError(errors, err, { title: 'Could not save the mapping' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('Source channel', mapSource).wrap,
    h('span', { class: 'arrow', attrs: { 'aria-hidden': 'true' } }, '→'),
    field('Target channel', mapTarget).wrap,
    Object.assign(field('Priority', mapPriority).wrap, { className: 'field narrow' }),
    addMappingBtn),
  targetWarnings,
  mapHint,
  h('details', { class: 'advanced' },
    h('summary', {}, 'Filters and transform (JSON)'),
    h('div', { class: 'form-row' },
      field('Filters', mapFilters, 'A JSON object; {} forwards everything.').wrap,
      field('Transform', mapTransform, 'A JSON object; {} forwards unchanged.').wrap)));

  const el = panel({ id: 'mappings', titleId: 'mappings-title', title: 'Mappings', head: [count] },
    form,
    errors,
    dataTable('mappings-title', ['Source', '', 'Target', 'Priority', 'Rules', 'State', ''], tbody));

  return { el, refresh };
}
