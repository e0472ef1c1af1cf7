/**
 * Which trace set the page shows: `#trace=<url>` in the page's hash, else the bundled demo.
 * Accepted: a same-origin path or URL, an https URL, or an http URL on this machine (localhost);
 * these match the page's CSP connect-src. Anything else (javascript:, data:, file:, …) is refused
 * with a message for the page to show.
 */
export type TraceLocation =
  | { ok: true; /** Base URL handed to fetchSource: a path for same-origin sets, else an absolute URL; no trailing slash. */ url: string }
  | { ok: false; message: string };

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function defaultTraceUrl(baseUrl: string): string {
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}traces/demo`;
}

/** `hash` is location.hash (with or without '#'); `pageHref` is location.href; `baseUrl` is the app's base path. */
export function traceLocationFromHash(hash: string, pageHref: string, baseUrl: string): TraceLocation {
  const raw = new URLSearchParams(hash.replace(/^#/, '')).get('trace');
  if (raw === null || raw.trim() === '') return { ok: true, url: defaultTraceUrl(baseUrl) };
  return validateTraceUrl(raw.trim(), pageHref);
}

export function validateTraceUrl(raw: string, pageHref: string): TraceLocation {
  const page = new URL(pageHref);
  let url: URL;
  try {
    url = new URL(raw, page);
  } catch {
    return { ok: false, message: `Not a valid trace URL: "${raw}"` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: `Trace URL must be a same-origin path or an http(s) URL; "${url.protocol}" URLs are not allowed` };
  }
  if (url.username || url.password) {
    return { ok: false, message: 'Trace URL must not contain a user name or password' };
  }
  const sameOrigin = url.origin === page.origin;
  if (!sameOrigin && url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
    return { ok: false, message: `Plain http is only allowed for localhost; use https for ${url.host}` };
  }
  // Accept either the folder or its manifest.json.
  const path = url.pathname.replace(/\/manifest\.json$/, '').replace(/\/+$/, '');
  return { ok: true, url: sameOrigin ? path + url.search : url.origin + path + url.search };
}
