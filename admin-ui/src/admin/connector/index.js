// Connector page: the page head and settings, available channels (picked from discovered guilds
// and channels), mappings between enabled source and target channels, recent signals, the live
// feed, the mirroring panel (queues, dead letters, latency) and the items rejected by validation. Each panel is its own module; they share the
// connector's state (./state.js) and re-render from its topics, never by calling each other.
import { showError } from '../../shared/api.js';
import { busy, h, link } from '../../shared/dom.js';
import { hashFor } from '../../shared/router.js';
import { inlineError } from '../../shared/widgets/index.js';
import { livePanel } from './live.js';
import { mappingsPanel } from './mappings.js';
import { mirroringPanel } from './mirroring.js';
import { overviewPanels } from './overview.js';
import { rejectionsPanel } from './rejections.js';
import { signalsPanel } from './signals.js';
import { sourcesPanel } from './sources.js';
import { createConnectorState } from './state.js';

export async function renderConnector(root, { api, setCrumbs }, tenantKey, connectorId) {
  const tenantPath = hashFor('t/:tenant', { tenant: tenantKey });
  setCrumbs([['Tenants', '#/'], [tenantKey, tenantPath], [connectorId, hashFor('t/:tenant/c/:connector', { tenant: tenantKey, connector: connectorId })]]);
  document.title = `${connectorId} · ${tenantKey} · Signal Relay`;

  const st = createConnectorState(tenantKey, connectorId);
  const refreshBtn = h('button', { type: 'button', class: 'btn', id: 'refresh-page', title: 'Reload everything on this page' }, 'Refresh');
  const overview = overviewPanels({ api, st, tenantPath, refreshButton: refreshBtn });
  const sources = sourcesPanel({ api, st });
  const mappings = mappingsPanel({ api, st });
  const mirroring = mirroringPanel({ api, st });
  const signals = signalsPanel({ api, st });
  const live = livePanel({ api, st });
  const rejections = rejectionsPanel({ api, st });

  /** The connector with its sources and mappings, in one read. */
  async function loadConnector() {
    const r = await api.get(st.base);
    st.update({ connector: r.connector, sources: r.sources, mappings: r.mappings });
  }

  // The lists that come from other endpoints; each shows its own errors.
  const refreshLists = () => Promise.all([signals.refresh(), rejections.refresh(), mappings.refresh(), mirroring.refresh()]);

  refreshBtn.addEventListener('click', () => busy(refreshBtn, async () => {
    showError(overview.errors, null);
    try {
      await Promise.all([loadConnector(), sources.refresh(), refreshLists()]);
    } catch (err) {
      showError(overview.errors, err, { title: 'Could not reload the connector' });
    }
  }));

  root.append(
    ...overview.head,
    overview.settings,
    sources.el,
    mappings.el,
    mirroring.el,
    h('div', { class: 'grid-2' }, signals.el, live.el),
    rejections.el);

  try {
    await Promise.all([loadConnector(), sources.refresh()]);
  } catch (err) {
    root.replaceChildren(h('section', { class: 'panel' },
      h('h1', {}, err.code === 'connector_not_found' || err.code === 'tenant_not_found' ? 'Connector not found' : 'Could not load the connector'),
      inlineError(err),
      link(tenantPath, 'Back to the tenant', { class: 'btn' })));
    return () => {};
  }
  // A list that came back empty published nothing; every panel renders at least once.
  st.publish('connector', 'sources', 'mappings', 'discovery');
  refreshLists();
  root.dataset.loaded = 'true';

  return () => {
    sources.dispose();
    live.dispose();
  };
}
