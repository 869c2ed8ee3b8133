// The customer dashboard's Discord-markdown renderer (admin-ui/src/shared/markdown*.js): the
// parser's tree (in Node), and the DOM it becomes (in Chromium, on a blank page with no CSP to
// fall back on): hostile messages render as text, only allowed elements and attributes ever
// appear, links are http(s) only, and no script runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { join } from 'node:path';
import { ROOT } from '../../harness/process.mjs';
import { launch } from '../../harness/browser.mjs';
import { parseMarkdown, parseInline, plainText, MAX_MARKDOWN_CHARS } from '../../admin-ui/src/shared/markdown.js';

// -- the parser ---------------------------------------------------------------------------

const inline = (s) => parseInline(s);
const types = (nodes) => nodes.map((n) => n.type);

test('inline styles nest as Discord renders them', () => {
  assert.deepEqual(inline('**BTC** long'), [
    { type: 'strong', children: [{ type: 'text', text: 'BTC' }] },
    { type: 'text', text: ' long' },
  ]);
  assert.deepEqual(types(inline('*a* _b_ __c__ ~~d~~ ||e|| `f`')),
    ['em', 'text', 'em', 'text', 'underline', 'text', 'strike', 'text', 'spoiler', 'text', 'code']);
  const [bi] = inline('***both***');
  assert.equal(bi.type, 'strong');
  assert.equal(bi.children[0].type, 'em');
  assert.deepEqual(inline('snake_case_name'), [{ type: 'text', text: 'snake_case_name' }], 'intra-word underscores are text');
  assert.deepEqual(inline('\\*not em\\*'), [{ type: 'text', text: '*not em*' }], 'escapes');
  assert.deepEqual(inline('`**x**`'), [{ type: 'code', text: '**x**' }], 'no styles inside code');
  assert.deepEqual(inline('**unclosed'), [{ type: 'text', text: '**unclosed' }]);
});

test('links: masked, bare and angle-bracketed; the URL is kept verbatim for the renderer to judge', () => {
  const [masked] = inline('[chart](https://tv.example/x)');
  assert.deepEqual(masked, { type: 'link', url: 'https://tv.example/x', children: [{ type: 'text', text: 'chart' }] });
  const js = inline('[click](javascript:alert(1))');
  assert.equal(js[0].type, 'link', 'parsed as a link…');
  assert.equal(js[0].url, 'javascript:alert(1)', '…whose URL the renderer refuses');
  const bare = inline('see https://x.example/a_(b)). done');
  assert.equal(bare[1].url, 'https://x.example/a_(b)', 'a trailing ")" closes only what the URL opened');
  assert.equal(bare[2].text, '). done');
  assert.equal(inline('<https://x.example/q?a=1>')[0].url, 'https://x.example/q?a=1');
  assert.deepEqual(types(inline('[a [b](https://x.example)](https://y.example)')).includes('link'), true);
  const nested = inline('[**bold** [in](https://a.example)](https://b.example)');
  const flat = JSON.stringify(nested);
  assert.ok(!/"type":"link".*"type":"link".*"type":"link"/.test(flat), 'no link inside a link');
});

test('mentions, custom emoji and timestamps', () => {
  assert.deepEqual(inline('<@123> <@!4> <@&5> <#6> @everyone').filter((n) => n.type === 'mention').map((n) => [n.kind, n.id]),
    [['user', '123'], ['user', '4'], ['role', '5'], ['channel', '6'], ['everyone', null]]);
  assert.deepEqual(inline('<a:party:99>')[0], { type: 'emoji', animated: true, name: 'party', id: '99' });
  assert.deepEqual(inline('<t:1700000000:R>')[0], { type: 'timestamp', unix: 1700000000, style: 'R' });
  assert.equal(inline('<:bad name:1>')[0].type, 'text');
});

test('blocks: code fences, quotes, headings, subtext, lists', () => {
  const blocks = parseMarkdown('# Entry\n> SL 63k\n> TP 68k\nplain **text**\n```js\nlet a = "<b>";\n```\n- one\n- two\n1. first\n-# small print\n>>> the\nrest');
  assert.deepEqual(types(blocks), ['heading', 'blockquote', 'paragraph', 'codeblock', 'list', 'list', 'subtext', 'blockquote']);
  assert.equal(blocks[0].level, 1);
  assert.equal(blocks[1].children[0].children[0].text, 'SL 63k\nTP 68k');
  assert.deepEqual(blocks[3], { type: 'codeblock', lang: 'js', text: 'let a = "<b>";' });
  assert.equal(blocks[4].ordered, false);
  assert.equal(blocks[4].items.length, 2);
  assert.equal(blocks[5].ordered, true);
  assert.equal(plainText(blocks[7].children), 'the rest');
  assert.deepEqual(types(parseMarkdown('```\n# not a heading\n> nor a quote\n```')), ['codeblock']);
});

test('anything parses; oversized input keeps its tail as text', () => {
  for (const s of ['', '*', '**', '``', '```', '||||', '[', '[]()', '<', '<t:>', '\\', '>>>', '# ', '-#', '~~~~', '_ _']) {
    const tree = parseMarkdown(s);
    assert.ok(Array.isArray(tree), JSON.stringify(s));
  }
  const deep = `${'**'.repeat(50)}x${'**'.repeat(50)}`;
  assert.ok(Array.isArray(parseMarkdown(deep)));
  const long = 'a'.repeat(MAX_MARKDOWN_CHARS) + '**tail**';
  const tree = parseMarkdown(long);
  assert.equal(tree[tree.length - 1].children[0].text, '**tail**', 'beyond the limit nothing is interpreted');
  assert.equal(parseMarkdown(null).length, 0);
});

// -- the DOM it becomes -------------------------------------------------------------------

const HOSTILE = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=2</script>',
  '<svg onload="window.__xss=3"><circle/></svg>',
  '[click](javascript:window.__xss=4)',
  '[click](JaVaScRiPt:window.__xss=5)',
  '[click](  javascript:window.__xss=6)',
  '[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9Nzwvc2NyaXB0Pg==)',
  '[click](vbscript:msgbox(8))',
  '[click](//evil.example/x)',
  '[click](/relative/path)',
  '<javascript:window.__xss=9>',
  '[x](https://ok.example/" onmouseover="window.__xss=10)',
  'https://evil.example/"><img src=x onerror="window.__xss=11">',
  '**<b onmouseover="window.__xss=12">bold</b>**',
  '||<iframe src="javascript:window.__xss=13"></iframe>||',
  '> <style>body{display:none}</style>',
  '```html\n<img src=x onerror="window.__xss=14">\n```',
  '`<img src=x onerror="window.__xss=15">`',
  '<:x:1" onerror="window.__xss=16>',
  '<a:x:12345>',
  '[<img src=x onerror="window.__xss=17">](https://ok.example)',
  '# <img src=x onerror="window.__xss=18">',
  '- [a](javascript:window.__xss=19)',
  '<t:9999999999999:R> <t:1700000000:F>',
  '&lt;script&gt;window.__xss=20&lt;/script&gt;',
];

const TAGS = new Set(['DIV', 'P', 'PRE', 'CODE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'U', 'S', 'SPAN', 'A', 'IMG', 'TIME']);
const ATTRS = /^(class|href|target|rel|title|role|tabindex|aria-[a-z]+|data-lang|src|alt|width|height|loading|decoding|referrerpolicy|datetime|start)$/;

let chrome;
let page;

before(async () => {
  const out = await build({
    stdin: {
      contents: "import { renderMarkdown } from './admin-ui/src/shared/markdown-dom.js'; window.renderMarkdown = renderMarkdown;",
      resolveDir: ROOT,
      loader: 'js',
    },
    bundle: true,
    write: false,
    format: 'iife',
    logLevel: 'silent',
    absWorkingDir: join(ROOT),
  });
  chrome = await launch();
  page = await chrome.newPage();
  await page.setContent('<!doctype html><html><body><div id="out"></div></body></html>');
  await page.addScriptTag({ content: out.outputFiles[0].text });
});

after(async () => {
  await chrome?.close();
});

test('hostile messages render inert: allowed elements and attributes only, http(s) links, no script', async () => {
  const report = await page.evaluate(({ inputs }) => {
    const out = document.getElementById('out');
    return inputs.map((input) => {
      const el = window.renderMarkdown(input, { channelName: () => 'general' });
      out.append(el);
      const all = [...el.querySelectorAll('*')];
      return {
        input,
        tags: all.map((n) => n.tagName),
        attrs: all.flatMap((n) => [...n.attributes].map((a) => a.name)),
        hrefs: [...el.querySelectorAll('a')].map((a) => a.href),
        srcs: [...el.querySelectorAll('img')].map((i) => i.getAttribute('src')),
        text: el.textContent,
      };
    });
  }, { inputs: HOSTILE });
  for (const r of report) {
    for (const t of r.tags) assert.ok(TAGS.has(t), `${JSON.stringify(r.input)}: element <${t}>`);
    for (const a of r.attrs) assert.match(a, ATTRS, `${JSON.stringify(r.input)}: attribute ${a}`);
    for (const href of r.hrefs) assert.match(href, /^https?:\/\/[^/]/, `${JSON.stringify(r.input)}: href ${href}`);
    for (const src of r.srcs) assert.match(src, /^https:\/\/cdn\.discordapp\.com\/emojis\/\d+\.(webp|gif)\?size=44$/, `${JSON.stringify(r.input)}: img ${src}`);
  }
  const byInput = Object.fromEntries(report.map((r) => [r.input, r]));
  assert.equal(byInput[HOSTILE[0]].text, HOSTILE[0], 'markup in a message is its text');
  assert.equal(byInput[HOSTILE[1]].text, HOSTILE[1]);
  assert.deepEqual(byInput[HOSTILE[3]].hrefs, [], 'a javascript: link is not a link');
  assert.equal(byInput[HOSTILE[3]].text, 'click', '…but its text stays');
  assert.deepEqual(byInput[HOSTILE[19]].srcs, ['https://cdn.discordapp.com/emojis/12345.gif?size=44'], 'custom emoji from the CDN, by id');
  assert.deepEqual(byInput[HOSTILE[20]].hrefs, ['https://ok.example/']);

  // Hover, click and focus everything that was rendered; nothing may run.
  const els = await page.$$('#out *');
  for (const el of els) {
    await el.hover().catch(() => {});
    await el.click({ noWaitAfter: true, modifiers: [] }).catch(() => {});
  }
  await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
  assert.deepEqual(page.errors, []);
});

test('markdown becomes the matching elements', async () => {
  const r = await page.evaluate(() => {
    const el = window.renderMarkdown('# Entry **65k**\n> SL `63k`\n||hidden|| [tv](https://tv.example/x)\n```\ncode <b>\n```\n- a\n- b', {});
    document.getElementById('out').replaceChildren(el);
    const spoiler = el.querySelector('.md-spoiler');
    const before = spoiler.getAttribute('aria-expanded');
    spoiler.focus();
    return {
      html: [...el.children].map((c) => c.tagName + (c.className ? `.${c.className}` : '')),
      strong: el.querySelector('.md-h strong')?.textContent,
      code: el.querySelector('blockquote code')?.textContent,
      link: { text: el.querySelector('a')?.textContent, href: el.querySelector('a')?.href, rel: el.querySelector('a')?.rel, target: el.querySelector('a')?.target },
      pre: el.querySelector('pre code')?.textContent,
      items: [...el.querySelectorAll('ul li')].map((li) => li.textContent),
      before,
      focusable: document.activeElement === spoiler,
    };
  });
  assert.deepEqual(r.html, ['P.md-h md-h1', 'BLOCKQUOTE.md-quote', 'P.md-p', 'PRE.md-pre', 'UL.md-list']);
  assert.equal(r.strong, '65k');
  assert.equal(r.code, '63k');
  assert.deepEqual(r.link, { text: 'tv', href: 'https://tv.example/x', rel: 'noopener noreferrer nofollow ugc', target: '_blank' });
  assert.equal(r.pre, 'code <b>');
  assert.deepEqual(r.items, ['a', 'b']);
  assert.equal(r.before, 'false');
  assert.ok(r.focusable, 'a spoiler is reachable by keyboard');
  await page.keyboard.press('Enter');
  assert.equal(await page.$eval('.md-spoiler', (s) => s.classList.contains('revealed')), true, 'and revealed with Enter');
});
