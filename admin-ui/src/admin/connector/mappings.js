// Mappings: which enabled source channel is mirrored into which enabled target channel, with a
// priority and optional filters and transform (JSON objects).
import { seg, showError } from '../../shared/api.js';
import { busy, field, h, option } from '../../shared/dom.js';
import { compareSnowflakes } from '../../shared/format.js';
import { dataTable, emptyRow, errorSlot, panel } from '../../shared/widgets/index.js';

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
  const tgt = st.sources.find((s) => s.channel_id === m.target_channel_id);
  if (!src || !src.is_source) return 'source is not an available source channel';
  if (!src.is_enabled) return 'source channel is disabled';
  if (!tgt || !tgt.is_target) return 'target is not an available target channel';
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
  const addMappingBtn = h('button', { type: 'submit', class: 'btn primary', id: 'add-mapping' }, 'Add mapping');
  const tbody = h('tbody');
  const count = h('span', { class: 'badge' });

  function renderForm() {
    const keepS = mapSource.value;
    const keepT = mapTarget.value;
    const srcs = st.sources.filter((s) => s.is_enabled && s.is_source);
    const tgts = st.sources.filter((s) => s.is_enabled && s.is_target);
    mapSource.replaceChildren(option('', srcs.length ? 'Select a source channel…' : 'No enabled source channels'),
      ...srcs.map((s) => option(s.channel_id, `${st.channelLabel(s.channel_id)} (${s.channel_id})`)));
    mapTarget.replaceChildren(option('', tgts.length ? 'Select a target channel…' : 'No enabled target channels'),
      ...tgts.map((s) => option(s.channel_id, `${st.channelLabel(s.channel_id)} (${s.channel_id})`)));
    if (srcs.some((s) => s.channel_id === keepS)) mapSource.value = keepS;
    if (tgts.some((s) => s.channel_id === keepT)) mapTarget.value = keepT;
    const missing = [];
    if (!srcs.length) missing.push('mark an available channel as an enabled Source');
    if (!tgts.length) missing.push('mark one as an enabled Target');
    mapHint.textContent = missing.length
      ? `To add a mapping, ${missing.join(' and ')}.`
      : 'Only enabled available channels are offered: sources on the left, targets on the right.';
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
      h('td', {}, h('span', { class: 'channel-name' }, st.channelLabel(m.target_channel_id)), h('span', { class: 'sub' }, m.target_channel_id)),
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
  st.subscribe(['sources', 'discovery'], renderForm);
  st.subscribe(['mappings'], syncForm);
  st.subscribe(['mappings', 'sources', 'discovery'], renderTable);

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

  return { el };
}
