// A table-driven hash router: `#/t/acme/c/main` against routes such as
//   { name: 'connector', path: 't/:tenant/c/:connector', render }
// A route matches when its segments are a prefix of the hash's (so `#/t/acme/anything` still
// opens the tenant); the first match in table order wins, and a route with path '' matches
// every hash, which makes it the fallback.

function compile(path) {
  return path.split('/').filter(Boolean).map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s }));
}

/** The segments of the current hash, decoded. */
export function hashSegments(hash = window.location.hash) {
  return hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
}

/** The first route of `routes` matching `segments`: { route, params } or null. */
export function matchRoute(routes, segments) {
  for (const route of routes) {
    const params = {};
    const ok = compile(route.path).every((part, i) => {
      const s = segments[i];
      if (s === undefined) return false;
      if (part.literal !== undefined) return s === part.literal;
      params[part.param] = s;
      return true;
    });
    if (ok) return { route, params };
  }
  return null;
}

/** Builds a hash for a route path and params: hashFor('t/:tenant', { tenant: 'a b' }) → '#/t/a%20b'. */
export function hashFor(path, params = {}) {
  return `#/${compile(path).map((p) => (p.literal ?? encodeURIComponent(params[p.param]))).join('/')}`;
}
