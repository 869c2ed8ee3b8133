// A tiny DOM builder. Text always goes through text nodes / textContent: nothing in this
// codebase assigns innerHTML, so data from the API or the feed can never become markup.

/**
 * h('button', { class: 'btn', onclick: fn, attrs: { 'aria-label': 'x' } }, 'Save')
 * Props: `class`, `text`, `dataset`, `attrs` (setAttribute), `style` (object), `on<event>`
 * handlers, and any other key is assigned as a DOM property (value, checked, disabled, …).
 * Children: nodes, strings/numbers (as text), arrays (flattened); null/undefined/false skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key === 'attrs') {
      for (const [a, v] of Object.entries(value)) {
        if (v === false || v === null || v === undefined) continue;
        el.setAttribute(a, v === true ? '' : String(v));
      }
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'href' || key === 'src') {
      throw new Error(`use safeLink() for ${key}`);
    } else {
      el[key] = value;
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Returns the URL if it is an absolute http(s) URL, otherwise null (no javascript:, data:, …). */
export function safeUrl(value) {
  if (typeof value !== 'string' || value.length === 0) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * A link to an external http(s) URL, opened in a new tab without referrer or opener; when the
 * URL is not http(s) the text is rendered as plain text instead.
 */
export function safeLink(url, text, props = {}) {
  const href = safeUrl(url);
  if (!href) return h('span', { ...props, class: ['unsafe-link', props.class] }, text);
  const a = h('a', props, text);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer nofollow';
  return a;
}

/** An internal link (same-origin path or #fragment). */
export function link(path, text, props = {}) {
  const a = h('a', props, text);
  if (!/^(\/(?!\/)|#|\?)/.test(path)) throw new Error(`not an internal path: ${path}`);
  a.setAttribute('href', path);
  return a;
}

let idCounter = 0;
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: returns { wrap, input }. */
export function field(labelText, input, hint) {
  if (!input.id) input.id = uid('f');
  const hintEl = hint ? h('small', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' },
    h('label', { htmlFor: input.id }, labelText),
    input,
    hintEl);
  return { wrap, input };
}

/** A checkbox with its label after it. */
export function checkbox(labelText, checked, props = {}) {
  const input = h('input', { type: 'checkbox', checked: !!checked, ...props });
  if (!input.id) input.id = uid('cb');
  const wrap = h('label', { class: 'check', htmlFor: input.id }, input, h('span', {}, labelText));
  return { wrap, input };
}

export function option(value, text, selected = false) {
  const o = h('option', { value, selected }, text);
  return o;
}

/** A spinner-free busy state for a button while `fn` runs. */
export async function busy(button, fn) {
  const wasDisabled = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = wasDisabled;
    button.removeAttribute('aria-busy');
  }
}

const ICONS = {
  // 24×24 stroke icons
  clip: 'M21 12.5l-8.5 8.5a5 5 0 01-7-7L14 5.5a3.3 3.3 0 014.7 4.7l-8.4 8.4a1.7 1.7 0 01-2.4-2.4L15.5 8.6',
  thread: 'M4 6h16M4 12h10M4 18h7',
  lock: 'M7 11V8a5 5 0 0110 0v3M5 11h14v10H5z',
};

/** A decorative inline SVG icon (aria-hidden). */
export function icon(name, size = 14) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name] ?? '');
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}
