// Reference: the obvious Durable Object fan-out. One SQLite-backed object per room accepts
// sockets with the Hibernation API and, for each POST /publish, loops over
// `this.ctx.getWebSockets()` sending the body to every socket as it arrives. No auth, no
// storage writes, no batching: the per-signal cost is one request plus one `send` per socket.
//
//   GET  /ws?room=<name>       WebSocket upgrade
//   POST /publish?room=<name>  broadcast the body; answers {"sent": n}
//   GET  /health
import { DurableObject } from 'cloudflare:workers';

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // Same keep-alive contract as the product, answered by the runtime without waking us.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/ws') {
      if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
        return new Response('expected a WebSocket upgrade', { status: 426 });
      }
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    if (url.pathname === '/publish' && request.method === 'POST') {
      const body = await request.text();
      let sent = 0;
      for (const ws of this.ctx.getWebSockets()) {
        try {
          ws.send(body);
          sent++;
        } catch {
          // closing socket
        }
      }
      return Response.json({ sent });
    }
    return new Response('not found', { status: 404 });
  }

  async webSocketMessage(_ws, _message) {}

  async webSocketClose(ws, code) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'bye');
    } catch {
      // already closed
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    const room = url.searchParams.get('room') ?? 'bench';
    return env.ROOM.get(env.ROOM.idFromName(room)).fetch(request);
  },
};
