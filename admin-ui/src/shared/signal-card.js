// Renders a signal (the feed / admin API signal view) as an <article>. Every piece of message
// data goes through text nodes; links are only made from http(s) URLs.
import { h, icon, safeLink, safeUrl } from './dom.js';
import { absoluteTime, formatBytes, isoTime, relativeTime } from './format.js';
import { renderMarkdown } from './markdown-dom.js';

export function authorName(author) {
  return author?.global_name || author?.username || (author?.id ? `user ${author.id}` : 'unknown author');
}

/** A <time> showing relative time, refreshed by startClock(). */
export function timeEl(value, props = {}) {
  const t = h('time', {
    ...props,
    dateTime: isoTime(value),
    title: absoluteTime(value),
    dataset: { relative: isoTime(value) },
  }, relativeTime(value));
  return t;
}

let clock = null;
/** Keeps every relative <time> current. */
export function startClock(root = document) {
  if (clock) return;
  clock = setInterval(() => {
    for (const t of root.querySelectorAll('time[data-relative]')) {
      const text = relativeTime(t.dataset.relative);
      if (t.textContent !== text) t.textContent = text;
    }
  }, 15_000);
}

function embedColor(raw) {
  let obj = raw;
  if (typeof raw === 'string') {
    try { obj = JSON.parse(raw); } catch { obj = null; }
  }
  const c = obj && typeof obj === 'object' ? obj.color : null;
  return Number.isInteger(c) && c >= 0 && c <= 0xffffff ? `#${c.toString(16).padStart(6, '0')}` : null;
}

function renderEmbed(e) {
  const color = embedColor(e.raw_json);
  return h('div', { class: 'embed', style: color ? { borderInlineStartColor: color } : undefined },
    e.title
      ? h('p', { class: 'embed-title' }, e.url ? safeLink(e.url, e.title) : e.title)
      : (e.url ? h('p', { class: 'embed-title' }, safeLink(e.url, e.url)) : null),
    e.description ? h('p', { class: 'embed-description' }, e.description) : null);
}

function parseRaw(raw) {
  if (raw && typeof raw === 'object') return raw;
  if (typeof raw !== 'string') return null;
  try {
    const obj = JSON.parse(raw);
    return obj && typeof obj === 'object' ? obj : null;
  } catch {
    return null;
  }
}

const str = (v) => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * The URL an image may be shown from: our media store (a same-origin `/media/` path) or an
 * https URL. Anything else (http, data:, javascript:, relative paths) is not shown inline.
 */
export function imageUrl(url) {
  if (typeof url !== 'string') return null;
  if (/^\/media\/[^\s]*$/.test(url) && !url.startsWith('//')) return url;
  const safe = safeUrl(url);
  return safe && safe.startsWith('https:') ? safe : null;
}

const IMAGE_EXT = /\.(png|jpe?g|gif|webp|avif)$/i;

function isImage(a) {
  if (typeof a.content_type === 'string') return /^image\/(png|jpeg|gif|webp|avif)$/i.test(a.content_type);
  return IMAGE_EXT.test(String(a.filename ?? ''));
}

/**
 * Where an attachment opens from. With the media store on, the worker signs a `media_url` (our
 * copy) into every attachment it sends, and only that is used: the CDN's `source_url` expires.
 * Without it (a deployment with no MEDIA_SIGNING_KEY) the CDN link is all there is.
 */
function attachmentHref(a) {
  if (typeof a.media_url === 'string') {
    return imageUrl(a.media_url) ? new URL(a.media_url, window.location.href).href : null;
  }
  return a.source_url;
}

/** Retries for an image our store has not fetched yet (the landing fetch follows the signal). */
const MEDIA_RETRY_MS = [1000, 2000, 4000];

function unavailable(a) {
  return h('span', { class: 'attachment unavailable', title: 'Not stored yet: the file will appear once the relay has fetched it' },
    icon('clip'), ` ${a.filename || 'file'}`, h('span', { class: 'size' }, 'not available yet'));
}

function inlineImage(url, alt, className) {
  const img = h('img', { class: className, alt, loading: 'lazy', decoding: 'async', referrerPolicy: 'no-referrer' });
  img.src = url;
  return img;
}

/** Attachments: images inline (linked to the full image), other files as links. */
function renderAttachments(list) {
  const images = [];
  const files = [];
  for (const a of list) {
    const url = typeof a.media_url === 'string' ? imageUrl(a.media_url) : imageUrl(a.source_url);
    if (url && isImage(a)) images.push({ a, url });
    else files.push(a);
  }
  return [
    images.length
      ? h('div', { class: 'attachment-images' }, images.map(({ a, url }) => {
        const img = inlineImage(url, a.filename || 'image', 'attachment-image');
        const link = safeLink(url.startsWith('/') ? new URL(url, window.location.href).href : url, img, { class: 'image-link' });
        link.setAttribute('aria-label', `Open image ${a.filename || ''}`.trim());
        if (typeof a.media_url === 'string') {
          // Our copy may still be on its way: try again a few times, then say so plainly.
          let tries = 0;
          img.addEventListener('error', () => {
            if (tries < MEDIA_RETRY_MS.length) {
              const wait = MEDIA_RETRY_MS[tries];
              tries += 1;
              setTimeout(() => { img.src = `${url}&retry=${tries}`; }, wait);
            } else {
              link.replaceWith(unavailable(a));
            }
          });
        } else {
          // An image that cannot be shown becomes a plain link to it, not a broken-image box.
          img.addEventListener('error', () => {
            link.classList.replace('image-link', 'attachment');
            link.replaceChildren(icon('clip'), ` ${a.filename || 'image'}`);
          }, { once: true });
        }
        return link;
      }))
      : null,
    files.length
      ? h('ul', { class: 'attachments', attrs: { 'aria-label': 'Attachments' } },
        files.map((a) => h('li', {},
          icon('clip'),
          attachmentHref(a) ? safeLink(attachmentHref(a), a.filename || 'attachment', { class: 'attachment' }) : unavailable(a),
          typeof a.size === 'number' ? h('span', { class: 'size' }, formatBytes(a.size)) : null)))
      : null,
  ];
}

/** A Discord embed with everything it may carry: author, title, description, fields, images. */
function renderRichEmbed(e, o) {
  const raw = parseRaw(e.raw_json) ?? {};
  const color = embedColor(raw);
  const title = str(e.title) ?? str(raw.title);
  const url = str(e.url) ?? str(raw.url);
  const description = str(e.description) ?? str(raw.description);
  const author = raw.author && typeof raw.author === 'object' ? raw.author : null;
  const fields = Array.isArray(raw.fields) ? raw.fields.filter((f) => f && typeof f === 'object').slice(0, 25) : [];
  const thumb = imageUrl(raw.thumbnail?.url);
  const image = imageUrl(raw.image?.url);
  const footer = raw.footer && typeof raw.footer === 'object' ? str(raw.footer.text) : null;
  const md = (text) => renderMarkdown(text, o);
  return h('div', { class: ['embed', 'rich', thumb && 'has-thumb'], style: color ? { borderInlineStartColor: color } : undefined },
    h('div', { class: 'embed-body' },
      author && str(author.name)
        ? h('p', { class: 'embed-author' }, str(author.url) ? safeLink(author.url, author.name) : author.name)
        : null,
      title
        ? h('p', { class: 'embed-title' }, url ? safeLink(url, title) : title)
        : (url ? h('p', { class: 'embed-title' }, safeLink(url, url)) : null),
      description ? h('div', { class: 'embed-description' }, md(description)) : null,
      fields.length
        ? h('dl', { class: 'embed-fields' }, fields.map((f) => h('div', { class: ['embed-field', f.inline && 'inline'] },
          h('dt', {}, md(String(f.name ?? ''))),
          h('dd', {}, md(String(f.value ?? ''))))))
        : null,
      image ? inlineImage(image, title ? `Image: ${title}` : 'Embed image', 'embed-image') : null,
      footer ? h('p', { class: 'embed-footer' }, footer) : null),
    thumb ? inlineImage(thumb, '', 'embed-thumb') : null);
}

/**
 * @param {object} s signal view
 * @param {object} [o]
 * @param {(id: string) => string|null} [o.channelName]
 * @param {(id: string) => string|null} [o.threadName]
 * @param {boolean} [o.showConnector]
 * @param {boolean} [o.rich] Discord markdown, inline images and full embeds (the customer
 *   dashboard); without it, text is shown verbatim and attachments as links
 */
export function renderSignal(s, o = {}) {
  const name = authorName(s.author);
  const text = s.content_clean || s.content || '';
  const channel = o.channelName?.(s.channel_id);
  const thread = s.thread_id ? (o.threadName?.(s.thread_id) ?? null) : null;
  const headingId = `sig-${s.discord_message_id}-author`;
  const article = h('article', {
    class: ['signal', s.deleted && 'is-deleted', s.edited_at && 'is-edited'],
    dataset: { messageId: s.discord_message_id, channelId: s.channel_id },
    attrs: { 'aria-labelledby': headingId },
  },
  h('header', { class: 'signal-head' },
    h('span', { class: 'avatar', attrs: { 'aria-hidden': 'true' } }, (name.trim()[0] ?? '?').toUpperCase()),
    h('span', { class: 'signal-meta' },
      h('span', { class: 'author', id: headingId }, name),
      s.author?.username && s.author?.global_name
        ? h('span', { class: 'username' }, `@${s.author.username}`) : null,
      h('span', { class: 'chip channel', title: `channel ${s.channel_id}` }, `#${channel || s.channel_id}`),
      s.thread_id ? h('span', { class: 'chip thread', title: `thread ${s.thread_id}` }, icon('thread', 12), ` ${thread || s.thread_id}`) : null,
      o.showConnector && s.connector_id ? h('span', { class: 'chip connector' }, s.connector_id) : null),
    h('span', { class: 'signal-flags' },
      s.edited_at ? h('span', { class: 'badge edited', title: `edited ${absoluteTime(s.edited_at)}` }, 'edited') : null,
      s.deleted ? h('span', { class: 'badge deleted', title: s.deleted_at ? `deleted ${absoluteTime(s.deleted_at)}` : 'deleted' }, 'deleted') : null,
      timeEl(s.created_at, { class: 'signal-time' }))),
  content(text, s, o),
  o.rich && s.attachments?.length ? renderAttachments(s.attachments) : null,
  !o.rich && s.attachments?.length
    ? h('ul', { class: 'attachments', attrs: { 'aria-label': 'Attachments' } },
      s.attachments.map((a) => h('li', {},
        icon('clip'),
        attachmentHref(a) ? safeLink(attachmentHref(a), a.filename || 'attachment', { class: 'attachment' }) : unavailable(a),
        typeof a.size === 'number' ? h('span', { class: 'size' }, formatBytes(a.size)) : null)))
    : null,
  s.embeds?.length
    ? h('div', { class: 'embeds' }, [...s.embeds].sort((a, b) => a.embed_index - b.embed_index)
      .map((e) => (o.rich ? renderRichEmbed(e, o) : renderEmbed(e))))
    : null);
  return article;
}

function content(text, s, o) {
  if (!text) {
    // A message that is only an image or an embed needs no "(no text)".
    if (o.rich && (s.attachments?.length || s.embeds?.length)) return null;
    return h('p', { class: 'signal-content empty' }, '(no text)');
  }
  if (!o.rich) return h('p', { class: 'signal-content' }, text);
  const md = renderMarkdown(text, o);
  md.classList.add('signal-content');
  return md;
}

/** Newest first: created_at, then message id. */
export function compareSignalsDesc(a, b) {
  const ta = Date.parse(a.created_at) || 0;
  const tb = Date.parse(b.created_at) || 0;
  if (ta !== tb) return tb - ta;
  const x = String(a.discord_message_id);
  const y = String(b.discord_message_id);
  if (x.length !== y.length) return y.length - x.length;
  return x < y ? 1 : x > y ? -1 : 0;
}
