// Signup, login, forgot / reset password and logout. Messages never say whether an email has
// an account (the API answers alike for both); field errors come from the API's `details`.
import { busy, field, h, link } from '../shared/dom.js';
import { pagePath } from './client.js';

const PASSWORD_MIN = 10;
const PASSWORD_MAX = 256;

/** A customer-facing message for an API error (no codes or correlation ids up front). */
export function friendly(err) {
  switch (err?.code) {
    case 'invalid_credentials':
      return 'That email and password do not match. Check them, or reset your password.';
    case 'throttled': {
      const wait = err.retryAfter ?? Number(err.details?.find((d) => d.field === 'retry_after_seconds')?.problem);
      return `Too many attempts. Please wait${Number.isFinite(wait) && wait > 0 ? ` ${formatWait(wait)}` : ' a moment'} and try again.`;
    }
    case 'signup_conflict':
      return 'We could not sign you in with these details. If you already have an account, log in or reset your password.';
    case 'reset_token_invalid':
      return 'This reset link is invalid, already used or expired. Request a new one.';
    case 'csrf_origin':
    case 'csrf_token':
      return 'Your session’s security check failed. Reload the page and try again.';
    case 'tenant_not_found':
      return 'This page does not exist. Check the link you were sent.';
    case 'network_error':
      return 'Could not reach the server. Check your connection and try again.';
    case 'not_signed_in':
      return 'Your session has ended. Please log in again.';
    default:
      return err?.message ? `Something went wrong: ${err.message}` : 'Something went wrong. Please try again.';
  }
}

function formatWait(s) {
  if (s < 60) return `${s} s`;
  return `${Math.ceil(s / 60)} min`;
}

/** An alert for an error, plus per-field messages on the inputs the API named. */
export function showFormError(slot, err, inputs = {}) {
  for (const input of Object.values(inputs)) {
    input.removeAttribute('aria-invalid');
    document.getElementById(`${input.id}-error`)?.remove();
  }
  slot.replaceChildren();
  if (!err) return;
  const named = [];
  for (const d of err.details ?? []) {
    const input = inputs[d.field];
    if (!input) continue;
    named.push(input);
    input.setAttribute('aria-invalid', 'true');
    const msg = h('small', { class: 'field-error', id: `${input.id}-error` }, d.problem ?? 'invalid');
    input.insertAdjacentElement('afterend', msg);
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), msg.id].filter(Boolean).join(' '));
  }
  slot.append(h('div', { class: 'error-box', attrs: { role: 'alert' }, dataset: { errorCode: err.code ?? 'error' } },
    h('p', {}, err.code === 'bad_request' && named.length ? 'Please correct the highlighted fields.' : friendly(err))));
  named[0]?.focus();
}

function notice(text, kind = '') {
  return text ? h('p', { class: ['notice', kind], attrs: { role: 'status' } }, text) : null;
}

function emailInput(autocomplete = 'email') {
  return h('input', { type: 'email', name: 'email', required: true, autocomplete, spellcheck: false, maxLength: 254, attrs: { inputmode: 'email' } });
}

function passwordInput(name, autocomplete, { min = 0 } = {}) {
  const input = h('input', { type: 'password', name, required: true, autocomplete, maxLength: PASSWORD_MAX });
  if (min) input.minLength = min;
  return input;
}

/** A password field with a show/hide toggle. */
function passwordField(label, input, hint) {
  const f = field(label, input, hint);
  const toggle = h('button', {
    type: 'button',
    class: 'btn small reveal',
    attrs: { 'aria-pressed': 'false', 'aria-controls': input.id },
    onclick: () => {
      const show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      toggle.setAttribute('aria-pressed', String(show));
      toggle.textContent = show ? 'Hide' : 'Show';
    },
  }, 'Show');
  toggle.setAttribute('aria-label', `Show ${label.toLowerCase()}`);
  const row = h('div', { class: 'password-row' });
  input.before(row);
  row.append(input, toggle);
  return f;
}

function authCard(titleText, ...body) {
  return h('section', { class: 'panel auth-card', attrs: { 'aria-labelledby': 'auth-title' } },
    h('h1', { id: 'auth-title' }, titleText),
    body);
}

function navLink(ctx, page, text) {
  const a = link(pagePath(ctx.tenant, page), text);
  a.addEventListener('click', (e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    ctx.navigate(page);
  });
  return a;
}

export { navLink };

export function renderLogin(ctx) {
  const email = emailInput('username');
  const password = passwordInput('password', 'current-password');
  const errors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const submit = h('button', { type: 'submit', class: 'btn primary wide' }, 'Log in');
  const form = h('form', {
    class: 'stack',
    noValidate: false,
    onsubmit: async (e) => {
      e.preventDefault();
      showFormError(errors, null, { email, password });
      try {
        await busy(submit, () => ctx.account.login(email.value.trim(), password.value));
      } catch (err) {
        password.value = '';
        showFormError(errors, err, { email, password });
        return;
      }
      ctx.navigate('');
    },
  },
  field('Email', email).wrap,
  passwordField('Password', password).wrap,
  errors,
  submit);
  ctx.main.replaceChildren(authCard('Log in',
    notice(ctx.notice?.text, ctx.notice?.kind),
    form,
    h('p', { class: 'auth-links' },
      navLink(ctx, 'forgot', 'Forgot your password?')),
    h('p', { class: 'auth-links' }, 'New here? ', navLink(ctx, 'signup', 'Create an account'))));
  email.focus();
}

export function renderSignup(ctx) {
  const email = emailInput();
  const password = passwordInput('password', 'new-password', { min: PASSWORD_MIN });
  const errors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const submit = h('button', { type: 'submit', class: 'btn primary wide' }, 'Create account');
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      showFormError(errors, null, { email, password });
      const address = email.value.trim();
      try {
        await busy(submit, async () => {
          await ctx.account.api.post('/signup', { email: address, password: password.value });
          await ctx.account.login(address, password.value);
        });
      } catch (err) {
        if (err.code === 'invalid_credentials') {
          // Signup answers alike for new and existing emails; a failed login after it means
          // the email already has an account with another password.
          showFormError(errors, { code: 'signup_conflict' });
          return;
        }
        showFormError(errors, err, { email, password });
        return;
      }
      ctx.navigate('', { text: 'Welcome! Your account is ready.', kind: 'ok' });
    },
  },
  field('Email', email).wrap,
  passwordField('Password', password, `At least ${PASSWORD_MIN} characters. A passphrase of a few words is easiest to remember.`).wrap,
  errors,
  submit);
  ctx.main.replaceChildren(authCard('Create your account',
    h('p', { class: 'muted' }, 'Sign up to follow signals live on this page.'),
    form,
    h('p', { class: 'auth-links' }, 'Already have an account? ', navLink(ctx, 'login', 'Log in'))));
  email.focus();
}

export function renderForgot(ctx) {
  const email = emailInput();
  const errors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const submit = h('button', { type: 'submit', class: 'btn primary wide' }, 'Send reset link');
  const body = h('div');
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      showFormError(errors, null, { email });
      const address = email.value.trim();
      try {
        await busy(submit, () => ctx.account.api.post('/password-reset-requests', { email: address }));
      } catch (err) {
        showFormError(errors, err, { email });
        return;
      }
      body.replaceChildren(
        h('p', { class: 'notice ok', attrs: { role: 'status' }, id: 'reset-sent' },
          'If an account exists for ', h('strong', {}, address), ', we have emailed it a link to choose a new password. The link works once and expires soon.'),
        h('p', { class: 'auth-links' }, navLink(ctx, 'login', 'Back to log in')));
    },
  },
  h('p', { class: 'muted' }, 'Enter the email you signed up with and we will send you a link to choose a new password.'),
  field('Email', email).wrap,
  errors,
  submit);
  body.append(form, h('p', { class: 'auth-links' }, navLink(ctx, 'login', 'Back to log in')));
  ctx.main.replaceChildren(authCard('Reset your password', body));
  email.focus();
}

/** The reset token arrives in the fragment (#token=…): read once, then removed from the URL. */
let resetToken = null;
export function takeResetToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (m) {
    resetToken = decodeURIComponent(m[1]);
    window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  }
  return resetToken;
}

export function renderReset(ctx) {
  const token = takeResetToken();
  if (!token) {
    ctx.main.replaceChildren(authCard('Reset your password',
      h('div', { class: 'error-box', attrs: { role: 'alert' } }, h('p', {}, 'This link is incomplete. Open the link from your email again, or request a new one.')),
      h('p', { class: 'auth-links' }, navLink(ctx, 'forgot', 'Request a new link'))));
    return;
  }
  const password = passwordInput('new_password', 'new-password', { min: PASSWORD_MIN });
  const confirm = passwordInput('confirm_password', 'new-password', { min: PASSWORD_MIN });
  const errors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const submit = h('button', { type: 'submit', class: 'btn primary wide' }, 'Set new password');
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      showFormError(errors, null, { new_password: password, confirm_password: confirm });
      if (password.value !== confirm.value) {
        showFormError(errors, { code: 'bad_request', details: [{ field: 'confirm_password', problem: 'does not match the new password' }] }, { confirm_password: confirm });
        return;
      }
      try {
        await busy(submit, () => ctx.account.api.post('/password-reset', { token, new_password: password.value }));
      } catch (err) {
        showFormError(errors, err, { new_password: password });
        if (err.code === 'reset_token_invalid') errors.append(h('p', { class: 'auth-links' }, navLink(ctx, 'forgot', 'Request a new link')));
        return;
      }
      resetToken = null;
      ctx.navigate('login', { text: 'Your password has been changed. Log in with the new one.', kind: 'ok' });
    },
  },
  passwordField('New password', password, `At least ${PASSWORD_MIN} characters.`).wrap,
  passwordField('Confirm new password', confirm).wrap,
  errors,
  submit);
  ctx.main.replaceChildren(authCard('Choose a new password',
    h('p', { class: 'muted' }, 'Every device signed in to your account will be signed out.'),
    form));
  password.focus();
}

export async function renderLogout(ctx) {
  ctx.main.replaceChildren(authCard('Signing out…'));
  try {
    if (!ctx.account.signedIn && !(await ctx.account.session())) {
      ctx.navigate('login', { text: 'You have been signed out.', kind: '' }, { replace: true });
      return;
    }
    try {
      await ctx.account.logout();
    } catch (err) {
      if (err.code !== 'csrf_token') throw err;
      // A token from before a password change: read the current one and try once more.
      if (await ctx.account.session()) await ctx.account.logout();
    }
  } catch (err) {
    if (err.status !== 401) {
      const slot = h('div');
      showFormError(slot, err);
      ctx.main.replaceChildren(authCard('Could not sign you out', slot,
        h('p', { class: 'auth-links' }, navLink(ctx, 'logout', 'Try again'), ' · ', navLink(ctx, '', 'Back to the dashboard'))));
      return;
    }
  }
  ctx.navigate('login', { text: 'You have been signed out.', kind: '' }, { replace: true });
}

/** "Change password" on the dashboard: a collapsed panel; other devices are signed out. */
export function changePasswordPanel(ctx) {
  const current = passwordInput('current_password', 'current-password');
  const next = passwordInput('new_password', 'new-password', { min: PASSWORD_MIN });
  const errors = h('div', { attrs: { 'aria-live': 'assertive' } });
  const done = h('div', { attrs: { 'aria-live': 'polite' } });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Change password');
  const form = h('form', {
    class: 'stack password-form',
    onsubmit: async (e) => {
      e.preventDefault();
      done.replaceChildren();
      showFormError(errors, null, { current_password: current, new_password: next });
      try {
        const r = await busy(submit, () => ctx.account.api.post('/password', { current_password: current.value, new_password: next.value }));
        // The server replaced this session (new cookie, new CSRF token) and ended the others.
        ctx.account.setCsrf(r.csrf_token);
        form.reset();
        done.append(notice('Password changed. Other devices have been signed out.', 'ok'));
      } catch (err) {
        current.value = '';
        showFormError(errors, err, { current_password: current, new_password: next });
      }
    },
  },
  passwordField('Current password', current).wrap,
  passwordField('New password', next, `At least ${PASSWORD_MIN} characters.`).wrap,
  errors,
  submit,
  done);
  return h('details', { class: 'panel account-panel', id: 'account-settings' },
    h('summary', {}, h('span', { class: 'summary-title' }, 'Account'), h('span', { class: 'muted' }, ` · ${ctx.customer?.email ?? ''}`)),
    form);
}
