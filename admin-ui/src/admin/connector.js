// Connector page: settings and token, available channels (picked from discovered guilds and
// channels), mappings between enabled source and target channels, recent signals, live feed.
import { seg, showError } from '../shared/api.js';
import { busy, checkbox, field, h, link, option } from '../shared/dom.js';
import { compareSnowflakes } from '../shared/format.js';
import { LiveFeed, SignalStore } from '../shared/feed.js';
import { compareSignalsDesc, renderSignal, timeEl } from '../shared/signal-card.js';
import { statusIndicator } from '../shared/status.js';
import { lastSeen, statusBadge } from './tenant.js';
import { tokenReveal } from './token-reveal.js';

const THREAD_MODES = [
  ['include', 'Include threads'],
  ['exclude', 'Exclude threads'],
  ['only', 'Threads only'],
];
const CATEGORY = 4; // Discord channel type: category (not a postable channel)
const DISCOVERY_POLL_MS = 3_000;
const DISCOVERY_POLL_FOR_MS = 120_000;

export async function renderConnector(root, { api, setCrumbs }, tenantKey, connectorId) {
  const tenantPath = `#/t/${encodeURIComponent(tenantKey)}`;
  const base = `/v1/admin/tenants/${seg(tenantKey)}/connectors/${seg(connectorId)}`;
  setCrumbs([['Tenants', '#/'], [tenantKey, tenantPath], [connectorId, `${tenantPath}/c/${encodeURIComponent(connectorId)}`]]);
  document.title = `${connectorId} · ${tenantKey} · Signal Relay`;

  const st = { connector: null, sources: [], mappings: [], guilds: [], channels: [] };
  const timers = { discovery: null };
  let disposed = false;

  const channelById = () => new Map(st.channels.map((c) => [c.channel_id, c]));
  const guildById = () => new Map(st.guilds.map((g) => [g.guild_id, g]));
  const channelName = (id) => channelById().get(id)?.name || null;
  const channelLabel = (id) => {
    const name = channelName(id);
    return name ? `#${name}` : id;
  };
  const guildLabel = (id) => guildById().get(id)?.name || id;

  function setConfigVersion(v) {
    if (typeof v === 'number' && st.connector) {
      st.connector.config_version = v;
      configVersion.textContent = `v${v}`;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Header: status, flags, token

  const headErrors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const revealSlot = h('div');
  const title = h('h1', { id: 'connector-title' }, connectorId);
  const statusSlot = h('span', { id: 'connector-status' });
  const configVersion = h('span', { id: 'config-version', class: 'badge accent', title: 'Runtime config version' });
  const details = h('dl', { class: 'details' });
  const pauseBtn = h('button', { type: 'button', class: 'btn', id: 'pause-toggle' });
  const rotateBtn = h('button', { type: 'button', class: 'btn danger', id: 'rotate-token' }, 'Rotate token');
  const ingest = checkbox('Ingest enabled', false, { attrs: { role: 'switch' }, name: 'ingest_enabled' });
  const forward = checkbox('Forward enabled', false, { attrs: { role: 'switch' }, name: 'forward_enabled' });

  function renderHeader() {
    const c = st.connector;
    title.textContent = c.name || c.connector_id;
    statusSlot.replaceChildren(statusBadge(c.status));
    configVersion.textContent = `v${c.config_version}`;
    pauseBtn.textContent = c.status === 'paused' ? 'Resume' : 'Pause';
    pauseBtn.className = c.status === 'paused' ? 'btn primary' : 'btn';
    ingest.input.checked = !!c.ingest_enabled;
    forward.input.checked = !!c.forward_enabled;
    const d = c.discovery_request ?? {};
    details.replaceChildren(
      h('div', {}, h('dt', {}, 'Connector id'), h('dd', {}, h('code', {}, c.connector_id))),
      h('div', {}, h('dt', {}, 'Last seen'), h('dd', {}, lastSeen(c.last_seen_at))),
      h('div', {}, h('dt', {}, 'Token'), h('dd', {}, h('code', { id: 'token-hint' }, c.token_hint || '—'),
        c.token_rotated_at ? [' · rotated ', timeEl(c.token_rotated_at)] : null)),
      h('div', {}, h('dt', {}, 'Discovery request'), h('dd', { id: 'discovery-version' },
        d.version ? [`#${d.version} `, d.guild_id ? `(${guildLabel(d.guild_id)})` : '(all guilds)', ' ', d.requested_at ? timeEl(d.requested_at) : null] : 'none yet')));
  }

  async function connectorAction(button, fn) {
    showError(headErrors, null);
    try {
      const r = await busy(button, fn);
      if (r?.connector) {
        st.connector = r.connector;
        renderHeader();
      }
      return r;
    } catch (err) {
      showError(headErrors, err);
      renderHeader();
      return null;
    }
  }

  pauseBtn.addEventListener('click', () => connectorAction(pauseBtn,
    () => api.post(`${base}/${st.connector.status === 'paused' ? 'resume' : 'pause'}`)));
  rotateBtn.addEventListener('click', async () => {
    if (!window.confirm(`Rotate the token of ${connectorId}? The current token stops working immediately.`)) return;
    const r = await connectorAction(rotateBtn, () => api.post(`${base}/rotate-token`));
    if (r?.token) {
      revealSlot.replaceChildren(tokenReveal({ token: r.token, connectorId, rotated: true }));
    }
  });
  for (const [sw, key] of [[ingest, 'ingest_enabled'], [forward, 'forward_enabled']]) {
    sw.input.addEventListener('change', () => connectorAction(sw.input, () => api.patch(base, { [key]: sw.input.checked })));
  }

  // ---------------------------------------------------------------------------------------
  // Available channels

  const srcErrors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const discoveryNotice = h('div', { attrs: { role: 'status', 'aria-live': 'polite' } });
  const guildSelect = h('select', { name: 'guild', id: 'guild-select' });
  const channelSelect = h('select', { name: 'channel', id: 'channel-select' });
  const fetchGuildsBtn = h('button', { type: 'button', class: 'btn', id: 'fetch-guilds' }, 'Fetch guilds');
  const fetchChannelsBtn = h('button', { type: 'button', class: 'btn', id: 'fetch-channels' }, 'Fetch channels');
  const newIsSource = checkbox('Source', true, { name: 'is_source' });
  const newIsTarget = checkbox('Target', false, { name: 'is_target' });
  const newEnabled = checkbox('Enabled', true, { name: 'is_enabled' });
  const newThreadMode = h('select', { name: 'thread_mode' }, THREAD_MODES.map(([v, t]) => option(v, t)));
  const addSourceBtn = h('button', { type: 'submit', class: 'btn primary', id: 'add-source' }, 'Add channel');
  const sourcesBody = h('tbody');
  const sourcesCount = h('span', { class: 'badge' });

  function renderGuildSelect() {
    const keep = guildSelect.value;
    const guilds = [...st.guilds].sort((a, b) => (a.name || '').localeCompare(b.name || '') || compareSnowflakes(a.guild_id, b.guild_id));
    guildSelect.replaceChildren(
      option('', guilds.length ? 'Select a guild…' : 'No guilds discovered yet — Fetch guilds'),
      ...guilds.map((g) => option(g.guild_id, `${g.name || 'unnamed guild'} (${g.guild_id})`)));
    if (guilds.some((g) => g.guild_id === keep)) guildSelect.value = keep;
    else if (guilds.length === 1) guildSelect.value = guilds[0].guild_id;
    fetchChannelsBtn.disabled = !guildSelect.value;
  }

  function renderChannelSelect() {
    const keep = channelSelect.value;
    const guild = guildSelect.value;
    const existing = new Set(st.sources.map((s) => s.channel_id));
    const chans = st.channels
      .filter((c) => c.guild_id === guild && c.type !== CATEGORY)
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || (a.name || '').localeCompare(b.name || '') || compareSnowflakes(a.channel_id, b.channel_id));
    let placeholder = 'Select a channel…';
    if (!guild) placeholder = 'Select a guild first';
    else if (!chans.length) placeholder = 'No channels discovered — Fetch channels';
    channelSelect.replaceChildren(
      option('', placeholder),
      ...chans.map((c) => option(c.channel_id, `#${c.name || 'unnamed'} (${c.channel_id})${existing.has(c.channel_id) ? ' — added' : ''}`)));
    if (chans.some((c) => c.channel_id === keep)) channelSelect.value = keep;
    channelSelect.disabled = !guild;
    syncAddForm();
  }

  /** Prefills the role flags when the picked channel is already available. */
  function syncAddForm() {
    const existing = st.sources.find((s) => s.channel_id === channelSelect.value);
    addSourceBtn.disabled = !channelSelect.value;
    addSourceBtn.textContent = existing ? 'Update channel' : 'Add channel';
    if (existing) {
      newIsSource.input.checked = existing.is_source;
      newIsTarget.input.checked = existing.is_target;
      newEnabled.input.checked = existing.is_enabled;
      newThreadMode.value = existing.thread_mode;
    }
  }

  async function putSource(channelId, body) {
    const r = await api.put(`${base}/sources/${seg(channelId)}`, body);
    const row = r.source ?? { channel_id: channelId, ...body };
    const i = st.sources.findIndex((s) => s.channel_id === channelId);
    if (i >= 0) st.sources[i] = row;
    else st.sources.push(row);
    setConfigVersion(r.config_version);
    renderSources();
    renderChannelSelect();
    renderMappingForm();
    renderMappings();
    return r;
  }

  function renderSources() {
    sourcesCount.textContent = String(st.sources.length);
    const rows = [...st.sources].sort((a, b) => (channelName(a.channel_id) ?? '~').localeCompare(channelName(b.channel_id) ?? '~') || compareSnowflakes(a.channel_id, b.channel_id));
    sourcesBody.replaceChildren(...(rows.length ? rows.map(sourceRow) : [
      h('tr', { class: 'empty-row' }, h('td', { colSpan: 7 }, 'No available channels yet. Pick a guild and a channel above.')),
    ]));
  }

  function sourceRow(s) {
    const label = channelLabel(s.channel_id);
    const isSource = h('input', { type: 'checkbox', checked: s.is_source, name: 'is_source', attrs: { 'aria-label': `${label}: source` } });
    const isTarget = h('input', { type: 'checkbox', checked: s.is_target, name: 'is_target', attrs: { 'aria-label': `${label}: target` } });
    const enabled = h('input', { type: 'checkbox', checked: s.is_enabled, name: 'is_enabled', attrs: { 'aria-label': `${label}: enabled` } });
    const threadMode = h('select', { name: 'thread_mode', attrs: { 'aria-label': `${label}: threads` } },
      THREAD_MODES.map(([v, t]) => option(v, t, v === s.thread_mode)));
    const removeBtn = h('button', { type: 'button', class: 'btn small danger', attrs: { 'aria-label': `Remove ${label}` } }, 'Remove');
    const controls = [isSource, isTarget, enabled, threadMode, removeBtn];
    const tr = h('tr', { dataset: { channel: s.channel_id }, class: s.is_enabled ? '' : 'is-disabled' },
      h('td', {}, h('span', { class: 'channel-name' }, label), h('span', { class: 'sub' }, s.channel_id)),
      h('td', {}, guildLabel(s.guild_id)),
      h('td', { class: 'center' }, isSource),
      h('td', { class: 'center' }, isTarget),
      h('td', {}, threadMode),
      h('td', { class: 'center' }, enabled),
      h('td', { class: 'actions' }, removeBtn));
    const save = async () => {
      showError(srcErrors, null);
      controls.forEach((c) => { c.disabled = true; });
      tr.setAttribute('aria-busy', 'true');
      try {
        await putSource(s.channel_id, {
          guild_id: s.guild_id,
          is_source: isSource.checked,
          is_target: isTarget.checked,
          thread_mode: threadMode.value,
          is_enabled: enabled.checked,
        });
      } catch (err) {
        showError(srcErrors, err, { title: `Could not update ${label}` });
        renderSources();
      }
    };
    for (const c of [isSource, isTarget, enabled, threadMode]) c.addEventListener('change', save);
    removeBtn.addEventListener('click', async () => {
      const affected = st.mappings.filter((m) => m.source_channel_id === s.channel_id || m.target_channel_id === s.channel_id).length;
      const msg = `Remove ${label} from the available channels?${affected ? ` ${affected} mapping(s) using it will be removed too.` : ''}`;
      if (!window.confirm(msg)) return;
      showError(srcErrors, null);
      try {
        const r = await busy(removeBtn, () => api.del(`${base}/sources/${seg(s.channel_id)}`));
        st.sources = st.sources.filter((x) => x.channel_id !== s.channel_id);
        if (r.mappings_removed) {
          st.mappings = st.mappings.filter((m) => m.source_channel_id !== s.channel_id && m.target_channel_id !== s.channel_id);
        }
        setConfigVersion(r.config_version);
        renderSources();
        renderChannelSelect();
        renderMappingForm();
        renderMappings();
        if (r.mappings_removed) await reloadMappings();
      } catch (err) {
        showError(srcErrors, err, { title: `Could not remove ${label}` });
      }
    });
    return tr;
  }

  async function refreshDiscovery() {
    const [g, c] = await Promise.all([api.get(`${base}/guilds`), api.get(`${base}/channels`)]);
    const changed = JSON.stringify([g.guilds, c.channels]) !== JSON.stringify([st.guilds, st.channels]);
    st.guilds = g.guilds;
    st.channels = c.channels;
    if (changed) {
      renderGuildSelect();
      renderChannelSelect();
      renderSources();
      renderMappingForm();
      renderMappings();
    }
    return changed;
  }

  /** After a discovery request, watch for the connector's answer for a while. */
  function pollDiscovery() {
    clearInterval(timers.discovery);
    const until = Date.now() + DISCOVERY_POLL_FOR_MS;
    timers.discovery = setInterval(async () => {
      if (disposed || Date.now() > until) {
        clearInterval(timers.discovery);
        return;
      }
      try {
        const changed = await refreshDiscovery();
        const r = await api.get(base);
        st.connector = r.connector;
        renderHeader();
        if (changed) {
          discoveryNotice.replaceChildren(h('p', { class: 'notice ok' }, 'Discovery results arrived; the pickers are up to date.'));
        }
      } catch { /* transient; the next tick retries */ }
    }, DISCOVERY_POLL_MS);
  }

  async function requestDiscovery(button, body, what) {
    showError(srcErrors, null);
    try {
      const r = await busy(button, () => api.post(`${base}/discovery-requests`, body));
      const v = r.discovery_request?.version;
      discoveryNotice.replaceChildren(h('p', { class: 'notice' },
        `Requested ${what} (discovery request #${v}). The connector answers on its next runtime-config poll; the pickers refresh automatically.`));
      if (st.connector) {
        st.connector.discovery_request = r.discovery_request;
        renderHeader();
      }
      pollDiscovery();
    } catch (err) {
      showError(srcErrors, err, { title: `Could not request ${what}` });
    }
  }

  fetchGuildsBtn.addEventListener('click', () => requestDiscovery(fetchGuildsBtn, {}, 'guilds'));
  fetchChannelsBtn.addEventListener('click', () => {
    if (!guildSelect.value) return;
    requestDiscovery(fetchChannelsBtn, { guild_id: guildSelect.value }, `the channels of ${guildLabel(guildSelect.value)}`);
  });
  guildSelect.addEventListener('change', () => {
    fetchChannelsBtn.disabled = !guildSelect.value;
    renderChannelSelect();
  });
  channelSelect.addEventListener('change', syncAddForm);

  const addSourceForm = h('form', {
    class: 'add-source',
    attrs: { 'aria-label': 'Add an available channel' },
    onsubmit: async (e) => {
      e.preventDefault();
      const channelId = channelSelect.value;
      const guildId = guildSelect.value;
      if (!channelId || !guildId) return;
      showError(srcErrors, null);
      try {
        await busy(addSourceBtn, () => putSource(channelId, {
          guild_id: guildId,
          is_source: newIsSource.input.checked,
          is_target: newIsTarget.input.checked,
          thread_mode: newThreadMode.value,
          is_enabled: newEnabled.input.checked,
        }));
        channelSelect.value = '';
        syncAddForm();
        newIsSource.input.checked = true;
        newIsTarget.input.checked = false;
        newEnabled.input.checked = true;
        newThreadMode.value = 'include';
      } catch (err) {
        showError(srcErrors, err, { title: 'Could not add the channel' });
      }
    },
  },
  h('div', { class: 'form-row' },
    field('Guild', guildSelect).wrap,
    fetchGuildsBtn,
    field('Channel', channelSelect).wrap,
    fetchChannelsBtn),
  h('div', { class: 'form-row roles' },
    h('fieldset', { class: 'inline' }, h('legend', {}, 'Role'), newIsSource.wrap, newIsTarget.wrap),
    field('Threads', newThreadMode).wrap,
    newEnabled.wrap,
    addSourceBtn));

  // ---------------------------------------------------------------------------------------
  // Mappings

  const mapErrors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const mapSource = h('select', { name: 'source_channel_id', id: 'mapping-source' });
  const mapTarget = h('select', { name: 'target_channel_id', id: 'mapping-target' });
  const mapPriority = h('input', { type: 'number', name: 'priority', value: '0', min: -1000000, max: 1000000, step: 1 });
  const mapFilters = h('textarea', { name: 'filters_json', rows: 3, value: '{}', spellcheck: false });
  const mapTransform = h('textarea', { name: 'transform_json', rows: 3, value: '{}', spellcheck: false });
  const mapHint = h('p', { class: 'hint mapping-hint' });
  const addMappingBtn = h('button', { type: 'submit', class: 'btn primary', id: 'add-mapping' }, 'Add mapping');
  const mappingsBody = h('tbody');
  const mappingsCount = h('span', { class: 'badge' });

  const enabledSources = () => st.sources.filter((s) => s.is_enabled && s.is_source);
  const enabledTargets = () => st.sources.filter((s) => s.is_enabled && s.is_target);

  function renderMappingForm() {
    const keepS = mapSource.value;
    const keepT = mapTarget.value;
    const srcs = enabledSources();
    const tgts = enabledTargets();
    mapSource.replaceChildren(option('', srcs.length ? 'Select a source channel…' : 'No enabled source channels'),
      ...srcs.map((s) => option(s.channel_id, `${channelLabel(s.channel_id)} (${s.channel_id})`)));
    mapTarget.replaceChildren(option('', tgts.length ? 'Select a target channel…' : 'No enabled target channels'),
      ...tgts.map((s) => option(s.channel_id, `${channelLabel(s.channel_id)} (${s.channel_id})`)));
    if (srcs.some((s) => s.channel_id === keepS)) mapSource.value = keepS;
    if (tgts.some((s) => s.channel_id === keepT)) mapTarget.value = keepT;
    const missing = [];
    if (!srcs.length) missing.push('mark an available channel as an enabled Source');
    if (!tgts.length) missing.push('mark one as an enabled Target');
    mapHint.textContent = missing.length
      ? `To add a mapping, ${missing.join(' and ')}.`
      : 'Only enabled available channels are offered: sources on the left, targets on the right.';
    syncMappingForm();
  }

  function syncMappingForm() {
    const exists = st.mappings.some((m) => m.source_channel_id === mapSource.value && m.target_channel_id === mapTarget.value);
    addMappingBtn.textContent = exists ? 'Update mapping' : 'Add mapping';
    addMappingBtn.disabled = !mapSource.value || !mapTarget.value;
  }
  mapSource.addEventListener('change', syncMappingForm);
  mapTarget.addEventListener('change', syncMappingForm);

  function mappingState(m) {
    const src = st.sources.find((s) => s.channel_id === m.source_channel_id);
    const tgt = st.sources.find((s) => s.channel_id === m.target_channel_id);
    if (!src || !src.is_source) return 'source is not an available source channel';
    if (!src.is_enabled) return 'source channel is disabled';
    if (!tgt || !tgt.is_target) return 'target is not an available target channel';
    if (!tgt.is_enabled) return 'target channel is disabled';
    return null;
  }

  const compactJson = (v) => {
    const s = JSON.stringify(v ?? {});
    return s === '{}' ? '—' : s;
  };

  function renderMappings() {
    mappingsCount.textContent = String(st.mappings.length);
    const rows = [...st.mappings].sort((a, b) => b.priority - a.priority || compareSnowflakes(a.source_channel_id, b.source_channel_id));
    mappingsBody.replaceChildren(...(rows.length ? rows.map((m) => {
      const problem = mappingState(m);
      const label = `${channelLabel(m.source_channel_id)} to ${channelLabel(m.target_channel_id)}`;
      const removeBtn = h('button', { type: 'button', class: 'btn small danger', attrs: { 'aria-label': `Remove mapping ${label}` } }, 'Remove');
      removeBtn.addEventListener('click', async () => {
        if (!window.confirm(`Remove the mapping ${label}?`)) return;
        showError(mapErrors, null);
        try {
          const r = await busy(removeBtn, () => api.del(`${base}/mappings/${seg(m.source_channel_id)}/${seg(m.target_channel_id)}`));
          st.mappings = st.mappings.filter((x) => x !== m);
          setConfigVersion(r.config_version);
          renderMappings();
          syncMappingForm();
        } catch (err) {
          showError(mapErrors, err, { title: 'Could not remove the mapping' });
        }
      });
      return h('tr', { dataset: { source: m.source_channel_id, target: m.target_channel_id }, class: problem ? 'is-disabled' : '' },
        h('td', {}, h('span', { class: 'channel-name' }, channelLabel(m.source_channel_id)), h('span', { class: 'sub' }, m.source_channel_id)),
        h('td', { class: 'arrow', attrs: { 'aria-hidden': 'true' } }, '→'),
        h('td', {}, h('span', { class: 'channel-name' }, channelLabel(m.target_channel_id)), h('span', { class: 'sub' }, m.target_channel_id)),
        h('td', {}, String(m.priority)),
        h('td', { class: 'rules' }, compactJson(m.filters_json) === '—' && compactJson(m.transform_json) === '—'
          ? h('span', { class: 'muted' }, 'forward all, unchanged')
          : [h('code', { title: 'filters' }, `filters ${compactJson(m.filters_json)}`), h('br'), h('code', { title: 'transform' }, `transform ${compactJson(m.transform_json)}`)]),
        h('td', {}, problem ? h('span', { class: 'badge warn', title: problem }, 'inactive') : h('span', { class: 'badge ok' }, 'active'),
          problem ? h('span', { class: 'sub' }, problem) : null),
        h('td', { class: 'actions' }, removeBtn));
    }) : [h('tr', { class: 'empty-row' }, h('td', { colSpan: 7 }, 'No mappings yet.'))]));
  }

  async function reloadMappings() {
    const r = await api.get(`${base}/mappings`);
    st.mappings = r.mappings;
    renderMappings();
    syncMappingForm();
  }

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

  const mappingForm = h('form', {
    class: 'add-mapping',
    attrs: { 'aria-label': 'Add a mapping' },
    onsubmit: async (e) => {
      e.preventDefault();
      showError(mapErrors, null);
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
        st.mappings = st.mappings.filter((m) => !(m.source_channel_id === src && m.target_channel_id === tgt));
        st.mappings.push(row);
        setConfigVersion(r.config_version);
        renderMappings();
        mapSource.value = '';
        mapTarget.value = '';
        mapPriority.value = '0';
        syncMappingForm();
      } catch (err) {
        showError(mapErrors, err, { title: 'Could not save the mapping' });
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

  // ---------------------------------------------------------------------------------------
  // Recent signals (admin API, from the projection) and the live feed

  const sigErrors = h('div');
  const sigList = h('ol', { class: 'signal-list', id: 'recent-signals', attrs: { 'aria-label': 'Recent signals' } });
  const moreBtn = h('button', { type: 'button', class: 'btn small', hidden: true }, 'Load older');
  const refreshSigBtn = h('button', { type: 'button', class: 'btn small', id: 'refresh-signals' }, 'Refresh');
  let nextBefore = null;

  async function loadSignals(more = false) {
    showError(sigErrors, null);
    const q = new URLSearchParams({ limit: '20', connector_id: connectorId, include_deleted: 'true' });
    if (more && nextBefore) q.set('before', String(nextBefore));
    try {
      const r = await api.get(`/v1/admin/tenants/${seg(tenantKey)}/signals?${q}`);
      if (!more) sigList.replaceChildren();
      for (const s of r.signals) sigList.append(h('li', {}, renderSignal(s, { channelName })));
      if (!sigList.children.length) sigList.append(h('li', { class: 'empty' }, 'No signals from this connector yet.'));
      nextBefore = r.next_before ?? null;
      moreBtn.hidden = !nextBefore;
    } catch (err) {
      showError(sigErrors, err, { title: 'Could not load signals' });
    }
  }
  refreshSigBtn.addEventListener('click', () => busy(refreshSigBtn, () => loadSignals(false)));
  moreBtn.addEventListener('click', () => busy(moreBtn, () => loadSignals(true)));

  const live = statusIndicator('idle');
  const liveSeq = h('span', { class: 'muted small', id: 'live-seq' });
  const liveList = h('ol', { class: 'signal-list', id: 'live-signals', attrs: { 'aria-label': 'Live signals from this connector' } });
  const liveBtn = h('button', { type: 'button', class: 'btn primary', id: 'live-toggle' }, 'Connect');
  const store = new SignalStore({ keepDeleted: true });
  let feed = null;

  function renderLive() {
    const items = [...store.signals.values()].filter((s) => s.connector_id === connectorId).sort(compareSignalsDesc).slice(0, 25);
    liveList.replaceChildren(...(items.length
      ? items.map((s) => h('li', {}, renderSignal(s, {
        channelName,
        threadName: (id) => store.threads.get(id)?.name ?? null,
      })))
      : [h('li', { class: 'empty' }, feed ? 'Waiting for signals…' : 'Connect to watch signals arrive.')]));
  }

  liveBtn.addEventListener('click', () => {
    if (feed) {
      feed.stop();
      feed = null;
      liveBtn.textContent = 'Connect';
      liveBtn.className = 'btn primary';
      renderLive();
      return;
    }
    feed = new LiveFeed({
      connectUrl: async () => (await api.post('/v1/feed-tickets', { tenant_key: tenantKey })).url,
      onFrame: (frame) => {
        const change = store.apply(frame);
        liveSeq.textContent = `seq ${feed?.seq ?? '—'}`;
        if (change && !change.thread) renderLive();
      },
      onStatus: (s) => live.set(s),
    });
    window.__signalRelay = { feed };
    liveBtn.textContent = 'Disconnect';
    liveBtn.className = 'btn';
    feed.start();
    renderLive();
  });

  // ---------------------------------------------------------------------------------------
  // Layout

  root.append(
    h('div', { class: 'page-head' },
      h('div', {},
        h('div', { class: 'title-row' }, title, statusSlot, configVersion),
        h('p', { class: 'muted' }, 'Connector ', h('code', {}, connectorId), ' of tenant ', link(tenantPath, tenantKey))),
      h('span', { class: 'spacer' }),
      h('div', { class: 'actions' }, pauseBtn, rotateBtn)),
    headErrors,
    revealSlot,
    h('section', { class: 'panel', attrs: { 'aria-labelledby': 'settings-title' } },
      h('div', { class: 'panel-head' }, h('h2', { id: 'settings-title' }, 'Settings'), h('span', { class: 'spacer' }), ingest.wrap, forward.wrap),
      details),
    h('section', { class: 'panel', id: 'available-channels', attrs: { 'aria-labelledby': 'sources-title' } },
      h('div', { class: 'panel-head' }, h('h2', { id: 'sources-title' }, 'Available channels'), sourcesCount),
      h('p', { class: 'muted' }, 'Channels this connector may read (Source) or mirror into (Target). Names come from the connector’s discovery reports.'),
      addSourceForm,
      discoveryNotice,
      srcErrors,
      h('div', { class: 'table-wrap' },
        h('table', { attrs: { 'aria-labelledby': 'sources-title' } },
          h('thead', {}, h('tr', {}, ['Channel', 'Guild', 'Source', 'Target', 'Threads', 'Enabled', ''].map((c) => h('th', { scope: 'col' }, c)))),
          sourcesBody))),
    h('section', { class: 'panel', id: 'mappings', attrs: { 'aria-labelledby': 'mappings-title' } },
      h('div', { class: 'panel-head' }, h('h2', { id: 'mappings-title' }, 'Mappings'), mappingsCount),
      mappingForm,
      mapErrors,
      h('div', { class: 'table-wrap' },
        h('table', { attrs: { 'aria-labelledby': 'mappings-title' } },
          h('thead', {}, h('tr', {}, ['Source', '', 'Target', 'Priority', 'Rules', 'State', ''].map((c) => h('th', { scope: 'col' }, c)))),
          mappingsBody))),
    h('div', { class: 'grid-2' },
      h('section', { class: 'panel', attrs: { 'aria-labelledby': 'signals-title' } },
        h('div', { class: 'panel-head' }, h('h2', { id: 'signals-title' }, 'Recent signals'), h('span', { class: 'spacer' }), refreshSigBtn),
        sigErrors, sigList, h('div', { class: 'form-actions' }, moreBtn)),
      h('section', { class: 'panel', attrs: { 'aria-labelledby': 'live-title' } },
        h('div', { class: 'panel-head' }, h('h2', { id: 'live-title' }, 'Live feed'), live.el, h('span', { class: 'spacer' }), liveSeq, liveBtn),
        liveList)));

  try {
    const [r] = await Promise.all([api.get(base), refreshDiscovery().catch((err) => showError(srcErrors, err, { title: 'Discovery lists unavailable' }))]);
    st.connector = r.connector;
    st.sources = r.sources;
    st.mappings = r.mappings;
  } catch (err) {
    root.replaceChildren(h('section', { class: 'panel' },
      h('h1', {}, err.code === 'connector_not_found' || err.code === 'tenant_not_found' ? 'Connector not found' : 'Could not load the connector'),
      (() => { const s = h('div'); showError(s, err); return s; })(),
      link(tenantPath, 'Back to the tenant', { class: 'btn' })));
    return () => {};
  }
  renderHeader();
  renderGuildSelect();
  renderChannelSelect();
  renderSources();
  renderMappingForm();
  renderMappings();
  renderLive();
  loadSignals(false);
  root.dataset.loaded = 'true';

  return () => {
    disposed = true;
    clearInterval(timers.discovery);
    feed?.stop();
  };
}
