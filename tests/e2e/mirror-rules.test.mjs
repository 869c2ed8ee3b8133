// Mapping rules (`filters_json`, `transform_json`) through the admin API: refused whole with a
// 400 naming the field, or stored in their normalised form; partial updates keep what they
// do not carry.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../harness/worker.mjs';
import { Api, provision } from '../../harness/client.mjs';

let server;
let admin;
before(async () => {
  server = await startServer();
  admin = new Api(server.baseUrl, server.adminToken);
});
after(async () => { await server?.close(); });

const GUILD = '1300000000000000000';
const SRC = '1300000000000000100';
const DST = '1300000000000000200';

async function mapped() {
  const ctx = await provision(server);
  const c = `/v1/admin/tenants/${ctx.tenant}/connectors/${ctx.connector}`;
  for (const [id, role] of [[SRC, { is_source: true }], [DST, { is_source: false, is_target: true }]]) {
    const r = await admin.put(`${c}/sources/${id}`, { guild_id: GUILD, ...role });
    assert.equal(r.status, 200, r.text);
  }
  return { ctx, c, url: `${c}/mappings/${SRC}/${DST}` };
}

function fields(r) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error_code, 'bad_request');
  return r.json.details.map((d) => d.field);
}

describe('mapping rules', () => {
  test('valid rules are stored normalised and reach the runtime config', async () => {
    const { ctx, url } = await mapped();
    const r = await admin.put(url, {
      filters_json: {
        allowed_keywords: ['  BTC ', 'btc', 'Long   Entry'],
        blocked_domains: ['https://Pump.Example.com/join', '*.spam.io'],
        ignored_author_ids: ['30', '20'],
        mode: 'remove',
      },
      transform_json: {
        replacements: [
          { pattern: 'BrandX', replacement: '', ignore_case: true },
          { pattern: '\\bTP(\\d)\\b', replacement: 'Target $1', regex: true },
        ],
        role_ping_id: '555',
        style: 'embed',
        embed: { title: 'VIP', color: '#5865F2' },
        footer: 'Powered by G3',
      },
      priority: 3,
    });
    assert.equal(r.status, 200, r.text);
    const filters = {
      allowed_keywords: ['btc', 'long entry'],
      blocked_domains: ['pump.example.com', 'spam.io'],
      ignored_author_ids: ['20', '30'],
      mode: 'remove',
    };
    const transform = {
      replacements: [
        { pattern: 'BrandX', replacement: '', ignore_case: true },
        { pattern: '\\bTP(\\d)\\b', replacement: 'Target $1', regex: true },
      ],
      role_ping_id: '555',
      style: 'embed',
      embed: { title: 'VIP', color: 0x5865f2 },
      footer: 'Powered by G3',
    };
    assert.deepEqual(r.json.mapping.filters_json, filters);
    assert.deepEqual(r.json.mapping.transform_json, transform);
    const cfg = (await ctx.api.get(`/connectors/${ctx.connector}/runtime-config?tenant_key=${ctx.tenant}`)).json.config;
    assert.deepEqual(cfg.mappings[0].filters_json, filters);
    assert.deepEqual(cfg.mappings[0].transform_json, transform);
    // Defaults are omitted: an explicit default is the same as nothing.
    const d = await admin.put(url, { filters_json: { mode: 'skip' }, transform_json: { style: 'webhook' } });
    assert.deepEqual([d.json.mapping.filters_json, d.json.mapping.transform_json], [{}, {}]);
  });

  test('invalid rules are refused with every bad field named, and nothing is written', async () => {
    const { c, url } = await mapped();
    let r = await admin.put(url, { filters_json: { blocked_keywords: ['pump'] }, transform_json: { footer: 'ok' }, priority: 1 });
    assert.equal(r.status, 200, r.text);
    const before = (await admin.get(`${c}/mappings`)).json.mappings[0];
    const version = (await admin.get(c)).json.connector.config_version;

    r = await admin.put(url, {
      filters_json: { blocked_keywords: ['fine', ''], blocked_domains: ['not a domain'], mode: 'drop', contains: ['BTC'] },
      transform_json: {
        replacements: [
          { pattern: 'ok' },
          { pattern: 'ok', replacement: 'x' },
          { pattern: '(unclosed', regex: true },
          { pattern: '(\\w{50}){50}', regex: true },
        ],
        role_ping_id: 5,
        style: 'card',
      },
      priority: 9,
    });
    const got = fields(r);
    for (const f of [
      'filters_json.blocked_keywords[1]',
      'filters_json.blocked_domains[0]',
      'filters_json.mode',
      'filters_json.contains',
      'transform_json.replacements[2].pattern',
      'transform_json.replacements[3].pattern',
      'transform_json.role_ping_id',
      'transform_json.style',
    ]) {
      assert.ok(got.includes(f), `${f} not in ${JSON.stringify(got)}`);
    }
    assert.match(r.json.message, /transform_json|filters_json/);
    const regex = r.json.details.find((d) => d.field === 'transform_json.replacements[3].pattern');
    assert.match(regex.problem, /too large/);

    // Only the transform is bad: the valid filters and priority in the same request are not applied.
    r = await admin.put(url, { filters_json: { blocked_keywords: ['other'] }, transform_json: { replacements: [{ pattern: '' }] }, priority: 7 });
    assert.deepEqual(fields(r), ['transform_json.replacements[0].pattern']);
    r = await admin.put(url, { transform_json: [] });
    assert.deepEqual(fields(r), ['transform_json']);

    const after = (await admin.get(`${c}/mappings`)).json.mappings[0];
    assert.deepEqual(after, before, 'never half-applied');
    assert.equal((await admin.get(c)).json.connector.config_version, version, 'refusals bump nothing');
  });

  test('a partial update changes only the fields it carries', async () => {
    const { c, url } = await mapped();
    let r = await admin.put(url, { filters_json: { blocked_keywords: ['pump'] }, transform_json: { footer: 'VIP' }, priority: 2 });
    assert.equal(r.status, 200, r.text);
    r = await admin.put(url, { priority: 8 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      [r.json.mapping.filters_json, r.json.mapping.transform_json, r.json.mapping.priority],
      [{ blocked_keywords: ['pump'] }, { footer: 'VIP' }, 8],
    );
    r = await admin.put(url, { transform_json: {} });
    assert.deepEqual(
      [r.json.mapping.filters_json, r.json.mapping.transform_json, r.json.mapping.priority],
      [{ blocked_keywords: ['pump'] }, {}, 8],
    );
    // A new mapping gets the defaults for what is left out.
    await admin.put(`${c}/sources/1300000000000000300`, { guild_id: GUILD, is_source: false, is_target: true });
    r = await admin.put(`${c}/mappings/${SRC}/1300000000000000300`, {});
    assert.deepEqual(
      [r.json.mapping.filters_json, r.json.mapping.transform_json, r.json.mapping.priority],
      [{}, {}, 0],
    );
  });
});
