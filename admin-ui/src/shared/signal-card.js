// Renders a signal (the feed / admin API signal view) as an <article>. Every piece of message
// data goes through text nodes; links are only made from http(s) URLs.
import { h, icon, safeLink } from './dom.js';
import { absoluteTime, formatBytes, isoTime, relativeTime } from './format.js';

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

/**
 * @param {object} s signal view
 * @param {object} [o]
 * @param {(id: string) => string|null} [o.channelName]
 * @param {(id: string) => string|null} [o.threadName]
 * @param {boolean} [o.showConnector]
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
  text ? h('p', { class: 'signal-content' }, text) : h('p', { class: 'signal-content empty' }, '(no text)'),
  s.attachments?.length
    ? h('ul', { class: 'attachments', attrs: { 'aria-label': 'Attachments' } },
      s.attachments.map((a) => h('li', {},
        icon('clip'),
        safeLink(a.source_url, a.filename || 'attachment', { class: 'attachment' }),
        typeof a.size === 'number' ? h('span', { class: 'size' }, formatBytes(a.size)) : null)))
    : null,
  s.embeds?.length
    ? h('div', { class: 'embeds' }, [...s.embeds].sort((a, b) => a.embed_index - b.embed_index).map(renderEmbed))
    : null);
  return article;
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
