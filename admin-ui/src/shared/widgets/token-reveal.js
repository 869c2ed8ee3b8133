// Shows a connector token exactly once, with a copy button and a clear warning. The token lives
// only in this element: it is not stored anywhere and disappears when dismissed or when the
// operator leaves the page.
import { h } from '../dom.js';

async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API unavailable (insecure context): select the text for a manual copy.
    input.focus();
    input.select();
    try { return document.execCommand('copy'); } catch { return false; }
  }
}

/**
 * @param {object} o
 * @param {string} o.token
 * @param {string} o.connectorId
 * @param {boolean} [o.rotated]
 * @param {() => void} [o.onDismiss]
 */
export function tokenReveal({ token, connectorId, rotated = false, onDismiss }) {
  const input = h('input', {
    type: 'text', readOnly: true, value: token, class: 'token-value mono', spellcheck: false,
    attrs: { 'aria-label': `Connector token for ${connectorId}`, autocomplete: 'off' },
  });
  const copied = h('span', { class: 'copied', attrs: { role: 'status', 'aria-live': 'polite' } });
  const copyBtn = h('button', {
    type: 'button',
    class: 'btn primary',
    onclick: async () => {
      const ok = await copyText(token, input);
      copied.textContent = ok ? 'Copied to clipboard' : 'Select the token and copy it manually';
    },
  }, 'Copy token');
  const panel = h('section', {
    class: 'token-reveal',
    attrs: { role: 'alert', 'aria-labelledby': 'token-reveal-title' },
    dataset: { connector: connectorId },
  },
  h('h2', { id: 'token-reveal-title' }, rotated ? `New token for ${connectorId}` : `Token for ${connectorId}`),
  h('p', { class: 'token-warning' },
    h('strong', {}, 'Copy this token now — it is shown only once. '),
    rotated
      ? 'The previous token has stopped working; update the connector with this one. '
      : 'Configure the connector with it. ',
    'Only a hash is stored, so it cannot be shown again; if it is lost, rotate the token.'),
  h('div', { class: 'token-row' }, input, copyBtn),
  copied,
  h('div', { class: 'form-actions' },
    h('button', {
      type: 'button',
      class: 'btn',
      onclick: () => {
        input.value = '';
        panel.remove();
        onDismiss?.();
      },
    }, 'I have stored the token')));
  queueMicrotask(() => input.select());
  return panel;
}
