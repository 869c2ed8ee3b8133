// Renders parseMarkdown()'s tree as DOM. Safe by construction:
// - elements are created only from the fixed tag names below, never from message data;
// - message text only ever lands in text nodes (h() children / textContent);
// - an href is set only from safeUrl(): absolute http(s) URLs; `javascript:`, `data:`,
//   `vbscript:`, relative and malformed URLs render as inert text;
// - the only image is a custom emoji, whose URL is built from digits (its id), not taken from
//   the message.
// Nothing here assigns innerHTML/outerHTML or sets an attribute named by the data.
import { h, safeUrl } from './dom.js';
import { parseMarkdown } from './markdown.js';

const INLINE_TAG = { strong: 'strong', em: 'em', underline: 'u', strike: 's' };

/**
 * @param {string} text message content
 * @param {object} [o]
 * @param {(id: string) => string|null} [o.channelName]
 * @returns {HTMLElement} a <div class="md"> holding the rendered blocks
 */
export function renderMarkdown(text, o = {}) {
  const root = h('div', { class: 'md' });
  for (const block of parseMarkdown(text)) root.append(renderBlock(block, o));
  return root;
}

function renderBlock(b, o) {
  switch (b.type) {
    case 'paragraph':
      return h('p', { class: 'md-p' }, renderInline(b.children, o));
    case 'heading':
      // Styled like Discord's headings, but not document headings: a message must not add
      // entries to the page's outline.
      return h('p', { class: `md-h md-h${b.level}` }, renderInline(b.children, o));
    case 'subtext':
      return h('p', { class: 'md-subtext' }, renderInline(b.children, o));
    case 'codeblock':
      return h('pre', { class: 'md-pre', dataset: b.lang ? { lang: b.lang } : undefined }, h('code', {}, b.text));
    case 'blockquote':
      return h('blockquote', { class: 'md-quote' }, b.children.map((c) => renderBlock(c, o)));
    case 'list': {
      const list = h(b.ordered ? 'ol' : 'ul', { class: 'md-list' },
        b.items.map((it) => h('li', { class: it.indent ? `md-indent-${it.indent}` : undefined }, renderInline(it.children, o))));
      if (b.ordered && b.start !== 1) list.start = b.start;
      return list;
    }
    default:
      return h('p', { class: 'md-p' }, renderInline(b.children ?? [], o));
  }
}

function renderInline(nodes, o) {
  return nodes.map((n) => renderNode(n, o));
}

function renderNode(n, o) {
  switch (n.type) {
    case 'text':
      return document.createTextNode(n.text);
    case 'strong':
    case 'em':
    case 'underline':
    case 'strike':
      return h(INLINE_TAG[n.type], {}, renderInline(n.children, o));
    case 'code':
      return h('code', { class: 'md-code' }, n.text);
    case 'spoiler':
      return spoiler(renderInline(n.children, o));
    case 'link':
      return mdLink(n, o);
    case 'mention':
      return mention(n, o);
    case 'emoji':
      return emoji(n);
    case 'timestamp':
      return timestamp(n);
    default:
      return document.createTextNode('');
  }
}

function mdLink(n, o) {
  const href = safeUrl(n.url);
  const children = renderInline(n.children, o);
  if (!href) return h('span', { class: 'unsafe-link', title: 'link removed: not an http(s) address' }, children);
  const a = h('a', { class: 'md-link' }, children);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer nofollow ugc';
  // A masked link's text can claim any destination: show the real one on hover and to
  // screen readers.
  const shown = a.textContent;
  if (shown !== n.url && shown !== href) {
    a.title = href;
    a.setAttribute('aria-description', `links to ${new URL(href).host}`);
  }
  return a;
}

function spoiler(children) {
  const el = h('span', {
    class: 'md-spoiler',
    tabIndex: 0,
    attrs: { role: 'button', 'aria-expanded': 'false', 'aria-label': 'Spoiler, press to reveal' },
  }, h('span', { class: 'md-spoiler-text' }, children));
  const reveal = (e) => {
    if (el.classList.contains('revealed')) return;
    e.preventDefault();
    el.classList.add('revealed');
    el.setAttribute('aria-expanded', 'true');
    el.removeAttribute('aria-label');
    el.removeAttribute('role');
    el.removeAttribute('tabindex');
  };
  el.addEventListener('click', reveal);
  el.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') reveal(e); });
  return el;
}

function mention(n, o) {
  let label;
  if (n.kind === 'channel') label = `#${o.channelName?.(n.id) ?? 'channel'}`;
  else if (n.kind === 'role') label = '@role';
  else if (n.kind === 'user') label = '@user';
  else label = `@${n.kind}`;
  return h('span', { class: `md-mention md-mention-${n.kind}`, title: n.id ? `${n.kind} ${n.id}` : undefined }, label);
}

function emoji(n) {
  if (!/^\d{1,20}$/.test(n.id)) return document.createTextNode(`:${n.name}:`);
  const img = h('img', {
    class: 'md-emoji',
    alt: `:${n.name}:`,
    title: `:${n.name}:`,
    width: 22,
    height: 22,
    loading: 'lazy',
    decoding: 'async',
    referrerPolicy: 'no-referrer',
  });
  img.src = `https://cdn.discordapp.com/emojis/${n.id}.${n.animated ? 'gif' : 'webp'}?size=44`;
  // A broken emoji shows its name, not a broken-image icon.
  img.addEventListener('error', () => img.replaceWith(document.createTextNode(`:${n.name}:`)), { once: true });
  return img;
}

const TS_FORMATS = {
  t: { hour: '2-digit', minute: '2-digit' },
  T: { hour: '2-digit', minute: '2-digit', second: '2-digit' },
  d: { year: 'numeric', month: '2-digit', day: '2-digit' },
  D: { year: 'numeric', month: 'long', day: 'numeric' },
  f: { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit' },
  F: { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit' },
};

function timestamp(n) {
  const d = new Date(n.unix * 1000);
  if (Number.isNaN(d.getTime())) return document.createTextNode(`<t:${n.unix}>`);
  let text;
  if (n.style === 'R') {
    const diff = Math.round((d.getTime() - Date.now()) / 1000);
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
    const abs = Math.abs(diff);
    text = abs < 60 ? rtf.format(diff, 'second')
      : abs < 3600 ? rtf.format(Math.round(diff / 60), 'minute')
        : abs < 86400 ? rtf.format(Math.round(diff / 3600), 'hour')
          : rtf.format(Math.round(diff / 86400), 'day');
  } else {
    text = d.toLocaleString(undefined, TS_FORMATS[n.style] ?? TS_FORMATS.f);
  }
  return h('time', { class: 'md-time', dateTime: d.toISOString(), title: d.toLocaleString() }, text);
}
