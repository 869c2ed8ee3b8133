// Discord-flavoured markdown → a plain tree of nodes (no DOM, no strings of markup). The tree is
// turned into DOM by markdown-dom.js, which only ever creates elements by name and sets text
// through text nodes, so nothing a message contains can become markup: a `<script>` in a message
// is the text "<script>". URLs are kept as the author wrote them here and checked (http(s) only)
// where they become an href.
//
// What Discord renders, and so what this parses:
//   blocks   ```lang\ncode```, > quote, >>> quote-the-rest, # / ## / ### headings, -# subtext,
//            - / * / 1. list items
//   inline   **bold**, *em* / _em_, __underline__, ~~strike~~, ||spoiler||, `code`, \escapes,
//            [masked](https://links), https://auto.links, <https://unembedded.links>,
//            <@user> <@!user> <@&role> <#channel> @everyone @here, <:emoji:id> <a:emoji:id>,
//            <t:unix:style> timestamps
//
// Node shapes:
//   { type: 'paragraph' | 'heading' (level) | 'subtext' | 'strong' | 'em' | 'underline' |
//     'strike' | 'spoiler', children }
//   { type: 'text' | 'code', text }              { type: 'codeblock', lang, text }
//   { type: 'blockquote', children: blocks }    { type: 'list', ordered, start, items: [children] }
//   { type: 'link', url, children }             { type: 'mention', kind, id }
//   { type: 'emoji', name, id, animated }       { type: 'timestamp', unix, style }

/** Longest text parsed as markdown; anything after it is shown as plain text. */
export const MAX_MARKDOWN_CHARS = 12_000;
/** Deepest nesting of inline styles; deeper markup is shown as text. */
const MAX_DEPTH = 12;

const FENCE = /```(?:([A-Za-z0-9_+\-.#]{1,32})\n)?([\s\S]*?)```/g;

/** Parses a message into blocks. Never throws; any input yields some tree. */
export function parseMarkdown(input) {
  let source = typeof input === 'string' ? input : '';
  let tail = '';
  if (source.length > MAX_MARKDOWN_CHARS) {
    tail = source.slice(MAX_MARKDOWN_CHARS);
    source = source.slice(0, MAX_MARKDOWN_CHARS);
  }
  const blocks = [];
  let last = 0;
  FENCE.lastIndex = 0;
  for (let m = FENCE.exec(source); m; m = FENCE.exec(source)) {
    if (m[2] === '' && !m[1]) continue; // "``````" is not a code block
    blocks.push(...parseLines(trimBlockEdge(source.slice(last, m.index)), 0));
    blocks.push({ type: 'codeblock', lang: m[1] ?? null, text: m[2].replace(/^\n/, '').replace(/\n$/, '') });
    last = m.index + m[0].length;
  }
  blocks.push(...parseLines(trimBlockEdge(source.slice(last)), 0));
  if (tail) blocks.push({ type: 'paragraph', children: [{ type: 'text', text: tail }] });
  return blocks;
}

/** A code block sits on its own lines: the newline before and after it belongs to it. */
function trimBlockEdge(s) {
  return s.replace(/^\n/, '').replace(/\n$/, '');
}

const HEADING = /^(#{1,3}) +(\S.*)$/;
const SUBTEXT = /^-# +(\S.*)$/;
const LIST_ITEM = /^( *)([-*]|\d{1,9}\.) +(\S.*)$/;

function parseLines(text, quoteDepth) {
  if (text === '') return [];
  const lines = text.split('\n');
  const blocks = [];
  let para = [];
  const flush = () => {
    if (para.length) blocks.push({ type: 'paragraph', children: parseInline(para.join('\n'), 0) });
    para = [];
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    if (quoteDepth === 0 && /^>>> ?/.test(line)) {
      flush();
      const rest = [line.replace(/^>>> ?/, ''), ...lines.slice(i + 1)].join('\n');
      blocks.push({ type: 'blockquote', children: parseLines(rest, 1) });
      return blocks;
    }
    if (quoteDepth === 0 && /^> |^>$/.test(line)) {
      flush();
      const quoted = [];
      while (i < lines.length && /^> |^>$/.test(lines[i])) {
        quoted.push(lines[i].replace(/^> ?/, ''));
        i += 1;
      }
      i -= 1;
      blocks.push({ type: 'blockquote', children: parseLines(quoted.join('\n'), 1) });
      continue;
    }
    let m = HEADING.exec(line);
    if (m) {
      flush();
      blocks.push({ type: 'heading', level: m[1].length, children: parseInline(m[2], 0) });
      continue;
    }
    m = SUBTEXT.exec(line);
    if (m) {
      flush();
      blocks.push({ type: 'subtext', children: parseInline(m[1], 0) });
      continue;
    }
    m = LIST_ITEM.exec(line);
    if (m) {
      flush();
      const ordered = m[2] !== '-' && m[2] !== '*';
      const list = { type: 'list', ordered, start: ordered ? Number.parseInt(m[2], 10) : 1, items: [] };
      while (i < lines.length) {
        const item = LIST_ITEM.exec(lines[i]);
        if (!item || (item[2] !== '-' && item[2] !== '*') === !ordered) break;
        list.items.push({ indent: Math.min(Math.floor(item[1].length / 2), 3), children: parseInline(item[3], 0) });
        i += 1;
      }
      i -= 1;
      blocks.push(list);
      continue;
    }
    para.push(line);
  }
  flush();
  return blocks;
}

// Inline rules, tried in order at each position (as Discord's simple-markdown does). Each
// returns [node, consumedLength] or null.
const RULES = [
  // \* \_ \` … : the character itself
  (s) => {
    const m = /^\\([^0-9A-Za-z\s])/.exec(s);
    return m && [{ type: 'text', text: m[1] }, m[0].length];
  },
  (s) => {
    const m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(s);
    return m && [{ type: 'code', text: m[2].replace(/^ (.*) $/s, '$1') }, m[0].length];
  },
  (s) => {
    const m = /^<(https?:\/\/[^\s>]+)>/i.exec(s);
    return m && [{ type: 'link', url: m[1], children: [{ type: 'text', text: m[1] }] }, m[0].length];
  },
  (s) => {
    const m = /^<(@!?|@&|#)(\d{1,20})>/.exec(s);
    if (!m) return null;
    const kind = m[1] === '#' ? 'channel' : m[1] === '@&' ? 'role' : 'user';
    return [{ type: 'mention', kind, id: m[2] }, m[0].length];
  },
  (s) => {
    const m = /^@(everyone|here)\b/.exec(s);
    return m && [{ type: 'mention', kind: m[1], id: null }, m[0].length];
  },
  (s) => {
    const m = /^<(a?):([A-Za-z0-9_]{1,32}):(\d{1,20})>/.exec(s);
    return m && [{ type: 'emoji', animated: m[1] === 'a', name: m[2], id: m[3] }, m[0].length];
  },
  (s) => {
    const m = /^<t:(-?\d{1,13})(?::([tTdDfFR]))?>/.exec(s);
    return m && [{ type: 'timestamp', unix: Number(m[1]), style: m[2] ?? 'f' }, m[0].length];
  },
  (s, depth) => {
    // [text](url) — the text may hold styles but no further links.
    const m = /^\[((?:\\[\s\S]|[^\\\[\]])+)\]\(\s*<?((?:\([^\s()]*\)|[^\s()<>])+)>?\s*\)/.exec(s);
    if (!m) return null;
    return [{ type: 'link', url: m[2], children: parseInline(m[1], depth + 1, { links: false }) }, m[0].length];
  },
  (s) => {
    const m = /^https?:\/\/[^\s<]+[^\s<.,:;"'!?\]*_~|]/i.exec(s);
    if (!m) return null;
    let url = m[0];
    // Keep a closing parenthesis only when it closes one opened inside the URL.
    while (url.endsWith(')') && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) url = url.slice(0, -1);
    return [{ type: 'link', url, children: [{ type: 'text', text: url }] }, url.length];
  },
  wrap('strong', /^\*\*([\s\S]+?)\*\*(?!\*)/),
  wrap('underline', /^__([\s\S]+?)__(?!_)/),
  wrap('em', /^\*(?=\S)([\s\S]*?\S)\*(?!\*)/),
  wrap('em', /^_(?=\S)([\s\S]*?\S)_(?![A-Za-z0-9_])/),
  wrap('strike', /^~~([\s\S]+?)~~/),
  wrap('spoiler', /^\|\|([\s\S]+?)\|\|/),
];

function wrap(type, re) {
  return (s, depth, opts) => {
    const m = re.exec(s);
    return m && [{ type, children: parseInline(m[1], depth + 1, opts) }, m[0].length];
  };
}

// Plain text runs up to the next character some rule could start at.
const SPECIAL = /[\\`<@\[*_~|h]/g;

/** Parses inline markdown; `opts.links: false` inside a link's text. */
export function parseInline(text, depth = 0, opts = { links: true }) {
  if (depth > MAX_DEPTH) return [{ type: 'text', text }];
  const out = [];
  let i = 0;
  let plainStart = 0;
  const pushText = (t) => {
    if (!t) return;
    const prev = out[out.length - 1];
    if (prev?.type === 'text') prev.text += t;
    else out.push({ type: 'text', text: t });
  };
  while (i < text.length) {
    let hit = null;
    // Rules only start at special characters; "h" only at a word start ("https://").
    const c = text[i];
    if ('\\`<@[*_~|h'.includes(c) && (c !== 'h' || i === 0 || !/[A-Za-z0-9]/.test(text[i - 1]))) {
      const rest = text.slice(i);
      for (const rule of RULES) {
        hit = rule(rest, depth, opts);
        if (hit && hit[0].type === 'link' && opts.links === false) hit = null;
        if (hit) break;
      }
    }
    if (hit) {
      pushText(text.slice(plainStart, i));
      const [node, len] = hit;
      if (node.type === 'text') pushText(node.text);
      else out.push(node);
      i += len;
      plainStart = i;
    } else {
      i += 1;
      SPECIAL.lastIndex = i;
      const next = SPECIAL.exec(text);
      i = next ? next.index : text.length;
    }
  }
  pushText(text.slice(plainStart));
  return out;
}

/** The plain text of a tree (for notifications and toasts): markup removed, nothing rendered. */
export function plainText(nodes) {
  let s = '';
  for (const n of nodes ?? []) {
    if (n.type === 'text' || n.type === 'code' || n.type === 'codeblock') s += n.text;
    else if (n.type === 'spoiler') s += '▒▒▒';
    else if (n.type === 'mention') s += n.kind === 'channel' ? '#channel' : n.kind === 'role' ? '@role' : n.kind === 'user' ? '@user' : `@${n.kind}`;
    else if (n.type === 'emoji') s += `:${n.name}:`;
    else if (n.type === 'timestamp') s += new Date(n.unix * 1000).toISOString();
    else if (n.type === 'list') s += n.items.map((it) => plainText(it.children)).join(' ');
    else if (n.children) s += plainText(n.children);
    if (n.type === 'paragraph' || n.type === 'heading' || n.type === 'blockquote' || n.type === 'subtext' || n.type === 'codeblock') s += ' ';
  }
  return s.replace(/\s+/g, ' ').trim();
}
