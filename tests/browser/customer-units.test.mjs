// Small pure pieces of the customer pages, in Node: which image URLs may be shown inline, the
// tenant prefix, the countdown's wording.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageUrl } from '../../admin-ui/src/shared/signal-card.js';
import { safeUrl } from '../../admin-ui/src/shared/dom.js';
import { pagePath, tenantFromPath } from '../../admin-ui/src/account/client.js';
import { countdown } from '../../admin-ui/src/account/dashboard.js';

test('inline images only from our media store or https', () => {
  assert.equal(imageUrl('https://cdn.discordapp.com/a/1/chart.png'), 'https://cdn.discordapp.com/a/1/chart.png');
  assert.equal(imageUrl('/media/acme/123/chart.png'), '/media/acme/123/chart.png');
  assert.equal(imageUrl(' https://x.example/a.png'), 'https://x.example/a.png', 'normalised, as the browser would');
  for (const bad of ['http://cdn.example.com/x.png', 'javascript:alert(1)', 'data:image/png;base64,AAAA', '//evil.example/x.png',
    '/relative.png', 'media/x.png', ' javascript:alert(1)', 'HTTPS://', '', null, 42, '/media/a b.png']) {
    assert.equal(imageUrl(bad), null, JSON.stringify(bad));
  }
});

test('links only to absolute http(s) URLs', () => {
  assert.equal(safeUrl('https://tv.example/x?a=1'), 'https://tv.example/x?a=1');
  assert.equal(safeUrl('HTTP://Example.com'), 'http://example.com/');
  for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,x', 'vbscript:x', '//evil.example', '/path', 'mailto:a@b.c', 'ftp://x.example']) {
    assert.equal(safeUrl(bad), null, bad);
  }
});

test('the tenant comes from the path; page paths stay under its prefix', () => {
  assert.deepEqual(tenantFromPath('/t/acme/'), { tenant: 'acme', rest: '' });
  assert.deepEqual(tenantFromPath('/t/acme/reset/'), { tenant: 'acme', rest: 'reset/' });
  assert.equal(tenantFromPath('/dashboard/'), null);
  assert.equal(tenantFromPath('/t/acme'), null, 'the worker redirects this to /t/acme/');
  assert.equal(pagePath('acme'), '/t/acme/');
  assert.equal(pagePath('acme', 'login'), '/t/acme/login/');
  assert.equal(pagePath('a b', 'shop'), '/t/a%20b/shop/');
});

test('the countdown reads as days, then hours, then minutes', () => {
  const s = 1000;
  assert.equal(countdown(0), 'ended');
  assert.equal(countdown(-5 * s), 'ended');
  assert.equal(countdown(59 * s), '0 m 59 s');
  assert.equal(countdown(61 * 60 * s), '1 h 01 m 00 s');
  assert.equal(countdown(((2 * 24 + 3) * 3600 + 4 * 60 + 5) * s), '2 d 03 h 04 m');
});
