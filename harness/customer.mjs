// A customer's browser, reduced to what the API sees: one cookie jar (the session cookie), the
// page's Origin on every state-changing request, and the CSRF token from login.
import { Api, Feed } from './client.mjs';

export class Customer {
  constructor(baseUrl, tenant, { origin = baseUrl, ip } = {}) {
    this.baseUrl = baseUrl;
    this.tenant = tenant;
    this.origin = origin;
    this.ip = ip;
    this.cookie = null;
    this.csrf = null;
    this.setCookies = [];
    this.api = new Api(baseUrl, null);
  }

  path(leaf) { return `/v1/account/${this.tenant}/${leaf}`; }

  async request(method, leaf, body, { origin = this.origin, csrf = this.csrf, cookie = this.cookie, tenant } = {}) {
    const headers = {};
    if (origin) headers.origin = origin;
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    if (cookie) headers.cookie = cookie;
    if (this.ip) headers['cf-connecting-ip'] = this.ip;
    const path = tenant ? `/v1/account/${tenant}/${leaf}` : this.path(leaf);
    const r = await this.api.request(method, path, { body, token: null, headers });
    const set = r.headers.getSetCookie?.() ?? [];
    this.setCookies.push(...set);
    for (const c of set) {
      const [pair] = c.split(';');
      const [name, value] = pair.split('=');
      if (name === 'sr_session') this.cookie = value ? `sr_session=${value}` : null;
    }
    if (r.json?.csrf_token) this.csrf = r.json.csrf_token;
    return r;
  }

  get(leaf, opts) { return this.request('GET', leaf, undefined, opts); }
  post(leaf, body = {}, opts) { return this.request('POST', leaf, body, opts); }

  async signup(email, password) { return this.post('signup', { email, password }); }

  async login(email, password) {
    const r = await this.post('login', { email, password });
    if (r.status !== 200) throw new Error(`login: ${r.status} ${r.text}`);
    return r;
  }

  async ticket() { return this.post('feed-tickets', {}); }

  /** Opens the live feed with a ticket from the session. */
  async feed({ since } = {}) {
    const t = await this.ticket();
    if (t.status !== 201) throw new Error(`ticket: ${t.status} ${t.text}`);
    const feed = new Feed(since === undefined ? t.json.url : `${t.json.url}&since=${since}`);
    await feed.opened;
    feed.ticket = t.json;
    return feed;
  }
}

/** Polls until the server's close frame has arrived and returns its code. */
export async function closeCode(feed, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const c = feed.serverCloseCode();
    if (c !== null) return c;
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}
