import { showError } from '../shared/api.js';
import { busy, field, h } from '../shared/dom.js';

export function renderSignIn(root, { notice, onToken }) {
  const input = h('input', {
    type: 'password', name: 'admin-token', autocomplete: 'current-password', required: true, spellcheck: false,
  });
  const tokenField = field('Admin token', input, 'The ADMIN_TOKEN configured for this deployment. Kept in this tab only (sessionStorage).');
  const errors = h('div', { class: 'errors', attrs: { 'aria-live': 'assertive' } });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', {
    class: 'panel signin',
    attrs: { 'aria-labelledby': 'signin-title' },
    onsubmit: async (e) => {
      e.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      showError(errors, null);
      try {
        await busy(submit, () => onToken(token));
      } catch (err) {
        showError(errors, err, { title: 'Sign-in failed' });
        input.select();
      }
    },
  },
  h('h1', { id: 'signin-title' }, 'Operator sign-in'),
  h('p', { class: 'muted' }, 'Manage tenants, connectors, channels and mappings.'),
  notice ? h('p', { class: 'notice', attrs: { role: 'status' } }, notice) : null,
  tokenField.wrap,
  errors,
  h('div', { class: 'form-actions' }, submit));
  root.append(form);
  input.focus();
}
