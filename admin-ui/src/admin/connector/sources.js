// Available channels: picked from the discovered guilds and channels, each a Source (read) and/or
// a Target (mirrored into), enabled or not, with a thread mode.
import { seg, showError } from '../../shared/api.js';
import { busy, checkbox, field, h, option } from '../../shared/dom.js';
import { compareSnowflakes } from '../../shared/format.js';
import { dataTable, emptyRow, errorSlot, panel } from '../../shared/widgets/index.js';
import { createDiscovery } from './discovery.js';

const THREAD_MODES = [
  ['include', 'Include threads'],
  ['exclude', 'Exclude threads'],
  ['only', 'Threads only'],
];
const CATEGORY = 4; // Discord channel type: category (not a postable channel)

export function sourcesPanel({ api, st }) {
  const { base } = st;
  const errors = errorSlot();
  const discoveryNotice = h('div', { attrs: { role: 'status', 'aria-live': 'polite' } });
  const discovery = createDiscovery({ api, st, notice: discoveryNotice, errors });
  const guildSelect = h('select', { name: 'guild', id: 'guild-select' });
  const channelSelect = h('select', { name: 'channel', id: 'channel-select' });
  const fetchGuildsBtn = h('button', { type: 'button', class: 'btn', id: 'fetch-guilds' }, 'Fetch guilds');
  const fetchChannelsBtn = h('button', { type: 'button', class: 'btn', id: 'fetch-channels' }, 'Fetch channels');
  const newIsSource = checkbox('Source', true, { name: 'is_source' });
  const newIsTarget = checkbox('Target', false, { name: 'is_target' });
  const newEnabled = checkbox('Enabled', true, { name: 'is_enabled' });
  const newThreadMode = h('select', { name: 'thread_mode' }, THREAD_MODES.map(([v, t]) => option(v, t)));
  const addSourceBtn = h('button', { type: 'submit', class: 'btn primary', id: 'add-source' }, 'Add channel');
  const tbody = h('tbody');
  const count = h('span', { class: 'badge' });

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

  function renderTable() {
    count.textContent = String(st.sources.length);
    const rows = [...st.sources].sort((a, b) => (st.channelName(a.channel_id) ?? '~').localeCompare(st.channelName(b.channel_id) ?? '~') || compareSnowflakes(a.channel_id, b.channel_id));
    tbody.replaceChildren(...(rows.length ? rows.map(sourceRow) : [
      emptyRow(7, 'No available channels yet. Pick a guild and a channel above.'),
    ]));
  }

  // The guild picker before the channel picker: the channels offered are the picked guild's.
  st.subscribe(['discovery'], renderGuildSelect);
  st.subscribe(['discovery', 'sources'], () => {
    renderChannelSelect();
    renderTable();
  });

  async function putSource(channelId, body) {
    const r = await api.put(`${base}/sources/${seg(channelId)}`, body);
    const row = r.source ?? { channel_id: channelId, ...body };
    const i = st.sources.findIndex((s) => s.channel_id === channelId);
    const sources = [...st.sources];
    if (i >= 0) sources[i] = row;
    else sources.push(row);
    st.setConfigVersion(r.config_version);
    st.update({ sources });
    return r;
  }

  function sourceRow(s) {
    const label = st.channelLabel(s.channel_id);
    const isSource = h('input', { type: 'checkbox', checked: s.is_source, name: 'is_source', attrs: { 'aria-label': `${label}: source` } });
    const isTarget = h('input', { type: 'checkbox', checked: s.is_target, name: 'is_target', attrs: { 'aria-label': `${label}: target` } });
    const enabled = h('input', { type: 'checkbox', checked: s.is_enabled, name: 'is_enabled', attrs: { 'aria-label': `${label}: enabled` } });
    const threadMode = h('select', { name: 'thread_mode', attrs: { 'aria-label': `${label}: threads` } },
      THREAD_MODES.map(([v, t]) => option(v, t, v === s.thread_mode)));
    const removeBtn = h('button', { type: 'button', class: 'btn small danger', attrs: { 'aria-label': `Remove ${label}` } }, 'Remove');
    const controls = [isSource, isTarget, enabled, threadMode, removeBtn];
    const tr = h('tr', { dataset: { channel: s.channel_id }, class: s.is_enabled ? '' : 'is-disabled' },
      h('td', {}, h('span', { class: 'channel-name' }, label), h('span', { class: 'sub' }, s.channel_id)),
      h('td', {}, st.guildLabel(s.guild_id)),
      h('td', { class: 'center' }, isSource),
      h('td', { class: 'center' }, isTarget),
      h('td', {}, threadMode),
      h('td', { class: 'center' }, enabled),
      h('td', { class: 'actions' }, removeBtn));
    const save = async () => {
      showError(errors, null);
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
        showError(errors, err, { title: `Could not update ${label}` });
        renderTable();
      }
    };
    for (const c of [isSource, isTarget, enabled, threadMode]) c.addEventListener('change', save);
    removeBtn.addEventListener('click', async () => {
      const affected = st.mappings.filter((m) => m.source_channel_id === s.channel_id || m.target_channel_id === s.channel_id).length;
      const msg = `Remove ${label} from the available channels?${affected ? ` ${affected} mapping(s) using it will be removed too.` : ''}`;
      if (!window.confirm(msg)) return;
      showError(errors, null);
      try {
        const r = await busy(removeBtn, () => api.del(`${base}/sources/${seg(s.channel_id)}`));
        const fields = { sources: st.sources.filter((x) => x.channel_id !== s.channel_id) };
        if (r.mappings_removed) {
          fields.mappings = st.mappings.filter((m) => m.source_channel_id !== s.channel_id && m.target_channel_id !== s.channel_id);
        }
        st.setConfigVersion(r.config_version);
        st.update(fields);
        // The server removed the mappings from or to the channel; read back what is left.
        if (r.mappings_removed) st.update({ mappings: (await api.get(`${base}/mappings`)).mappings });
      } catch (err) {
        showError(errors, err, { title: `Could not remove ${label}` });
      }
    });
    return tr;
  }

  fetchGuildsBtn.addEventListener('click', () => discovery.request(fetchGuildsBtn, {}, 'guilds'));
  fetchChannelsBtn.addEventListener('click', () => {
    if (!guildSelect.value) return;
    discovery.request(fetchChannelsBtn, { guild_id: guildSelect.value }, `the channels of ${st.guildLabel(guildSelect.value)}`);
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
      showError(errors, null);
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
        showError(errors, err, { title: 'Could not add the channel' });
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

  const el = panel({ id: 'available-channels', titleId: 'sources-title', title: 'Available channels', head: [count] },
    h('p', { class: 'muted' }, 'Channels this connector may read (Source) or mirror into (Target). Names come from the connector’s discovery reports.'),
    addSourceForm,
    discoveryNotice,
    errors,
    dataTable('sources-title', ['Channel', 'Guild', 'Source', 'Target', 'Threads', 'Enabled', ''], tbody));

  return {
    el,
    /** Discovery lists are best effort: the page works without names. */
    refresh: () => discovery.refresh().catch((err) => showError(errors, err, { title: 'Discovery lists unavailable' })),
    dispose: () => discovery.dispose(),
  };
}
