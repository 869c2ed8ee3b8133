// The connector page's head (name, status, config version, pause/resume, token rotation) and
// its Settings panel (ingest/forward switches, id, last seen, token hint, discovery request).
import { showError } from '../../shared/api.js';
import { busy, checkbox, h, link } from '../../shared/dom.js';
import { timeEl } from '../../shared/signal-card.js';
import { errorSlot, lastSeen, panel, statusBadge, tokenReveal } from '../../shared/widgets/index.js';

export function overviewPanels({ api, st, tenantPath, refreshButton }) {
  const { base, connectorId } = st;
  const headErrors = errorSlot();
  const revealSlot = h('div');
  const title = h('h1', { id: 'connector-title' }, connectorId);
  const statusSlot = h('span', { id: 'connector-status' });
  const configVersion = h('span', { id: 'config-version', class: 'badge accent', title: 'Runtime config version' });
  const details = h('dl', { class: 'details' });
  const pauseBtn = h('button', { type: 'button', class: 'btn', id: 'pause-toggle' });
  const rotateBtn = h('button', { type: 'button', class: 'btn danger', id: 'rotate-token' }, 'Rotate token');
  const ingest = checkbox('Ingest enabled', false, { attrs: { role: 'switch' }, name: 'ingest_enabled' });
  const forward = checkbox('Forward enabled', false, { attrs: { role: 'switch' }, name: 'forward_enabled' });

  function render() {
    const c = st.connector;
    if (!c) return;
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
        d.version ? [`#${d.version} `, d.guild_id ? `(${st.guildLabel(d.guild_id)})` : '(all guilds)', ' ', d.requested_at ? timeEl(d.requested_at) : null] : 'none yet')));
  }
  // The discovery request names its guild, so new guild names re-render the details too.
  st.subscribe(['connector', 'discovery'], render);
  st.subscribe(['config-version'], () => {
    if (st.connector) configVersion.textContent = `v${st.connector.config_version}`;
  });

  async function connectorAction(button, fn) {
    showError(headErrors, null);
    try {
      const r = await busy(button, fn);
      if (r?.connector) st.update({ connector: r.connector });
      return r;
    } catch (err) {
      showError(headErrors, err);
      // Puts a switch the operator flipped back to what the server holds.
      render();
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

  const head = [
    h('div', { class: 'page-head' },
      h('div', {},
        h('div', { class: 'title-row' }, title, statusSlot, configVersion),
        h('p', { class: 'muted' }, 'Connector ', h('code', {}, connectorId), ' of tenant ', link(tenantPath, st.tenantKey))),
      h('span', { class: 'spacer' }),
      h('div', { class: 'actions' }, refreshButton, pauseBtn, rotateBtn)),
    headErrors,
    revealSlot,
  ];
  const settings = panel({ titleId: 'settings-title', title: 'Settings', head: [h('span', { class: 'spacer' }), ingest.wrap, forward.wrap] },
    details);
  return { head, settings, errors: headErrors };
}
