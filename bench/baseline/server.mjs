// Baseline: the least a WebSocket broadcast can cost on this machine. A Node `ws` server on
// loopback; POST /publish sends the request body, as one text frame, to every connected socket.
// No auth, no storage, no Durable Object: what the benchmark measures here is the machine,
// the kernel's loopback and the client, which every other design pays as well.
//
//   node bench/baseline/server.mjs --port 0     (prints {"port": N} on stdout when listening)
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('--port', '0'));
const PONG = Buffer.from('{"type":"pong"}');

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    // Same keep-alive contract as the product: {"type":"ping"} → {"type":"pong"}.
    if (data.length < 64 && data.toString().includes('"ping"')) ws.send(PONG, { binary: false });
  });
  ws.on('error', () => {});
});

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (req.method === 'POST' && req.url.startsWith('/publish')) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      // One buffer for every recipient: the per-socket cost is the frame header and the write.
      const body = Buffer.concat(chunks);
      let sent = 0;
      for (const ws of wss.clients) {
        if (ws.readyState === 1) { ws.send(body, { binary: false }); sent++; }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"sent":${sent}}`);
    });
    return;
  }
  res.writeHead(404);
  res.end();
});
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Exit with the benchmark even if it dies without signalling us.
process.stdin.on('end', stop);
process.stdin.resume();
