import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/server.mjs';
import { provision, message, ingest, Feed } from '../support/client.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.close(); });

test('a signal reaches a live subscriber', async () => {
  const ctx = await provision(server);
  const feed = await Feed.open(server, ctx.tenant);
  await feed.until((f) => f.frames.some((x) => x.type === 'snapshot'), 5000, 'snapshot');
  const m = message(ctx);
  const r = await ingest(ctx, [m]);
  assert.equal(r.accepted, 1);
  await feed.until((f) => f.signals().some((s) => s.signal.discord_message_id === m.discord_message_id), 5000, 'signal');
  await feed.close();
});
