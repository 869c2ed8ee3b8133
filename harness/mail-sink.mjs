#!/usr/bin/env node
// The fake mail sink: the HTTP email API the worker sends through (MAIL_API_BASE), keeping every
// message in memory. `POST /send` (bearer MAIL_API_TOKEN when --token is given) with
// {from, to, subject, text}; `GET /messages[?to=]` the messages as JSON, newest last;
// `GET /` a page showing what was sent; `DELETE /messages` forgets them.
//   node harness/mail-sink.mjs [--port 0] [--token T] [--stdin-lifeline]
// With --stdin-lifeline (as the harness starts it) it also exits when stdin closes, so a test
// runner that dies cannot leave it behind.
// Announces itself with one line {"port":N} on stdout.
import { createServer } from 'node:http';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('port', '0'));
const token = arg('token', '');
const messages = [];
const MAX = 1000;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page() {
  const rows = messages.slice().reverse().map((m) => `
    <article><header><strong>${escape(m.subject)}</strong> — to ${escape(m.to)} from ${escape(m.from)}
    <time>${escape(m.at)}</time></header><pre>${escape(m.text)}</pre></article>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mail sink</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:14px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.75rem}pre{white-space:pre-wrap;word-break:break-all}
time{color:#666;margin-left:.5rem}</style></head><body><h1>Mail sink</h1>
<p>${messages.length} message(s) sent through the fake email API. Newest first.</p>${rows || '<p><em>Nothing sent yet.</em></p>'}</body></html>`;
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://sink');
  if (req.method === 'POST' && url.pathname === '/send') {
    if (token && req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: 'bad token' });
    let raw = '';
    req.on('data', (c) => { raw += c; if (raw.length > 1_000_000) req.destroy(); });
    req.on('end', () => {
      let m;
      try { m = JSON.parse(raw); } catch { return send(res, 400, { error: 'not JSON' }); }
      for (const f of ['from', 'to', 'subject', 'text']) {
        if (typeof m[f] !== 'string' || !m[f]) return send(res, 400, { error: `${f} is required` });
      }
      messages.push({ id: messages.length + 1, from: m.from, to: m.to, subject: m.subject, text: m.text, at: new Date().toISOString() });
      if (messages.length > MAX) messages.shift();
      send(res, 202, { id: messages.length });
    });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/messages') {
    const to = url.searchParams.get('to');
    return send(res, 200, to ? messages.filter((m) => m.to === to) : messages);
  }
  if (req.method === 'DELETE' && url.pathname === '/messages') {
    messages.length = 0;
    return send(res, 204, '');
  }
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
  if (req.method === 'GET' && url.pathname === '/') return send(res, 200, page(), 'text/html; charset=utf-8');
  send(res, 404, { error: 'not found' });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.argv.includes('--stdin-lifeline')) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
