// A minimal WebSocket client for the benchmark's subscribers (`script/bench --client raw`): the
// handshake, unmasked server frames (text, binary, continuation, ping, close) and masked client
// frames, over a plain `net.Socket`. It reads frames in place from each TCP chunk, allocates
// nothing for a complete frame and stamps the receipt once per chunk, when the bytes reach user
// space.
//
// It is the control for the question "is the `ws` client's parsing the bottleneck?". Measured on
// the 2-core dev box at 1,000 sockets × 50 signals/s against the baseline, both clients cost
// ~16 µs of process CPU per message (most of it the kernel's and libuv's per-read work, not
// parsing) and give the same p99 within noise, so `ws` stays the default.
//
// Not a general-purpose client: no TLS, no extensions (permessage-deflate is never offered), no
// UTF-8 validation.
import net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

function maskedFrame(opcode, payload) {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hdr + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, hdr);
  for (let i = 0; i < len; i++) out[hdr + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

/**
 * @param {string} url ws://host:port/path?query
 * @param {{now: () => number, onOpen: () => void, onMessage: (payload: Buffer, t: number) => void,
 *          onClose: (code: number) => void, onError: (msg: string) => void, timeoutMs: number}} h
 */
export function connectRaw(url, h) {
  const u = new URL(url);
  const port = Number(u.port || 80);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const sock = net.connect({ host: u.hostname, port });
  sock.setNoDelay(true);
  const conn = { readyState: CONNECTING, send, close, terminate };
  let handshake = Buffer.alloc(0);
  let pending = null; // chunks of an incomplete frame
  let pendingLen = 0;
  let pendingNeed = 0;
  let frags = null; // payloads of a fragmented message
  let closeSent = false;
  let closeCode = 1006;
  let finished = false;

  const timer = setTimeout(() => {
    if (conn.readyState === CONNECTING) fail('handshake timeout');
  }, h.timeoutMs);

  function fail(msg) {
    if (finished) return;
    h.onError(msg);
    sock.destroy();
  }

  sock.write(
    `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );

  sock.on('data', (chunk) => {
    const t = h.now();
    if (conn.readyState === CONNECTING) {
      handshake = handshake.length ? Buffer.concat([handshake, chunk]) : chunk;
      const end = handshake.indexOf('\r\n\r\n');
      if (end < 0) {
        if (handshake.length > 65536) fail('handshake: response headers too large');
        return;
      }
      const head = handshake.toString('latin1', 0, end);
      const status = Number(head.slice(9, 12));
      if (status !== 101) {
        // Give the body a moment to arrive for the error message.
        const rest = handshake.subarray(end + 4);
        setTimeout(() => fail(`handshake ${status}: ${rest.toString('utf8', 0, 200)}`), 50);
        return;
      }
      if (!new RegExp(`^sec-websocket-accept:\\s*${accept.replace(/[+/=]/g, '\\$&')}\\s*$`, 'im').test(head)) {
        fail('handshake: bad Sec-WebSocket-Accept');
        return;
      }
      clearTimeout(timer);
      conn.readyState = OPEN;
      h.onOpen();
      chunk = handshake.subarray(end + 4);
      handshake = null;
      if (chunk.length === 0) return;
    }
    if (pending) {
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen < pendingNeed) return;
      chunk = Buffer.concat(pending, pendingLen);
      pending = null;
    }
    parse(chunk, t);
  });

  function parse(buf, t) {
    let p = 0;
    const n = buf.length;
    while (p < n) {
      if (n - p < 2) { keep(buf, p, 2); return; }
      const b0 = buf[p];
      const b1 = buf[p + 1];
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - p < 4) { keep(buf, p, 4); return; }
        len = buf.readUInt16BE(p + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - p < 10) { keep(buf, p, 10); return; }
        len = buf.readUInt32BE(p + 2) * 4294967296 + buf.readUInt32BE(p + 6);
        hdr = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) hdr += 4;
      if (n - p < hdr + len) { keep(buf, p, hdr + len); return; }
      let payload = buf.subarray(p + hdr, p + hdr + len);
      if (masked) {
        const m = buf.subarray(p + hdr - 4, p + hdr);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] ^= m[i & 3];
      }
      p += hdr + len;
      const fin = (b0 & 0x80) !== 0;
      const op = b0 & 0x0f;
      if (op === 1 || op === 2) {
        if (fin) h.onMessage(payload, t);
        else frags = [Buffer.from(payload)];
      } else if (op === 0) {
        if (frags) {
          frags.push(Buffer.from(payload));
          if (fin) { const whole = Buffer.concat(frags); frags = null; h.onMessage(whole, t); }
        }
      } else if (op === 9) {
        if (conn.readyState === OPEN) sock.write(maskedFrame(0xa, payload));
      } else if (op === 8) {
        closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!closeSent) {
          closeSent = true;
          const body = Buffer.alloc(2);
          body.writeUInt16BE(closeCode === 1005 ? 1000 : closeCode, 0);
          sock.write(maskedFrame(0x8, body));
        }
        conn.readyState = CLOSING;
        sock.end();
        return;
      }
      // op 10 (pong) and anything else: ignored
    }
  }

  function keep(buf, p, need) {
    pending = [buf.subarray(p)];
    pendingLen = buf.length - p;
    pendingNeed = need;
  }

  sock.on('error', (e) => fail(`error: ${e.message}`));
  sock.on('close', () => {
    clearTimeout(timer);
    const wasConnecting = conn.readyState === CONNECTING;
    conn.readyState = CLOSED;
    if (finished) return;
    finished = true;
    if (wasConnecting) h.onError('closed during handshake');
    h.onClose(closeCode);
  });

  function send(text) {
    if (conn.readyState !== OPEN) return;
    sock.write(maskedFrame(0x1, Buffer.from(text)));
  }

  function close(code = 1000) {
    if (conn.readyState === CLOSED) return;
    if (conn.readyState === CONNECTING) { sock.destroy(); return; }
    if (!closeSent) {
      closeSent = true;
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code, 0);
      sock.write(maskedFrame(0x8, body));
    }
    conn.readyState = CLOSING;
  }

  function terminate() {
    sock.destroy();
  }

  return conn;
}
