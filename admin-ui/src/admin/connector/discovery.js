// The guilds and channels the connector reported, and discovery requests: asking the connector
// (through its runtime config) to report them again, then watching for its answer.
import { showError } from '../../shared/api.js';
import { busy, h } from '../../shared/dom.js';

const POLL_MS = 3_000;
const POLL_FOR_MS = 120_000;

/**
 * @param {object} o
 * @param {ReturnType<import('./state.js').createConnectorState>} o.st
 * @param {HTMLElement} o.notice  where a request's progress is announced
 * @param {HTMLElement} o.errors  where a failed request is shown
 */
export function createDiscovery({ api, st, notice, errors }) {
  const { base } = st;
  let timer = null;
  let disposed = false;

  /** Reloads the lists; publishes 'discovery' only when they changed. */
  async function refresh() {
    const [g, c] = await Promise.all([api.get(`${base}/guilds`), api.get(`${base}/channels`)]);
    const changed = JSON.stringify([g.guilds, c.channels]) !== JSON.stringify([st.guilds, st.channels]);
    if (changed) st.update({ guilds: g.guilds, channels: c.channels });
    return changed;
  }

  /** After a discovery request, watch for the connector's answer for a while. */
  function poll() {
    clearInterval(timer);
    const until = Date.now() + POLL_FOR_MS;
    timer = setInterval(async () => {
      if (disposed || Date.now() > until) {
        clearInterval(timer);
        return;
      }
      try {
        const changed = await refresh();
        const r = await api.get(base);
        st.update({ connector: r.connector });
        if (changed) {
          notice.replaceChildren(h('p', { class: 'notice ok' }, 'Discovery results arrived; the pickers are up to date.'));
        }
      } catch { /* transient; the next tick retries */ }
    }, POLL_MS);
  }

  async function request(button, body, what) {
    showError(errors, null);
    try {
      const r = await busy(button, () => api.post(`${base}/discovery-requests`, body));
      const v = r.discovery_request?.version;
      notice.replaceChildren(h('p', { class: 'notice' },
        `Requested ${what} (discovery request #${v}). The connector answers on its next runtime-config poll; the pickers refresh automatically.`));
      if (st.connector) st.update({ connector: { ...st.connector, discovery_request: r.discovery_request } });
      poll();
    } catch (err) {
      showError(errors, err, { title: `Could not request ${what}` });
    }
  }

  return {
    refresh,
    request,
    dispose() {
      disposed = true;
      clearInterval(timer);
    },
  };
}
