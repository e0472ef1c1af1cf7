/**
 * Which trace set an experiment uses, as written in an experiment spec and its URL:
 * - `demo`: the bundled demo trace set;
 * - a same-origin path (`/traces/mine`, optionally ending in `/manifest.json`);
 * - an https URL of a manifest folder, or an http URL on this machine (localhost) — what the page's CSP allows;
 * - `local:<name>`: files a person opened from disk; a link can only name them, the files must be opened again.
 * Anything else (javascript:, data:, file:, protocol-relative `//host`, credentials) is refused with a message.
 */
export type TraceRef = { kind: 'demo' } | { kind: 'path'; path: string } | { kind: 'url'; url: string } | { kind: 'local'; name: string };

export const MAX_TRACE_REF_LENGTH = 2048;
export const LOCAL_PREFIX = 'local:';
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export type TraceRefResult = { ok: true; ref: TraceRef } | { ok: false; message: string };

/** Shows untrusted text in a message: quoted, control characters escaped, at most `max` characters. */
export function quote(raw: string, max = 80): string {
  const s = raw.length > max ? `${raw.slice(0, max)}…` : raw;
  return JSON.stringify(s);
}

/** Drops a trailing `/manifest.json` and trailing slashes: the folder is the reference. */
function folderOf(path: string): string {
  return path.replace(/\/manifest\.json$/, '').replace(/\/+$/, '');
}

export function parseTraceRef(raw: string): TraceRefResult {
  if (raw.length > MAX_TRACE_REF_LENGTH) return { ok: false, message: `trace reference is ${raw.length} characters, more than ${MAX_TRACE_REF_LENGTH}` };
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return { ok: false, message: `trace reference ${quote(raw)} contains control characters or backslashes` };
  const s = raw.trim();
  if (s === '' || s === 'demo') return { ok: true, ref: { kind: 'demo' } };
  if (s.startsWith(LOCAL_PREFIX)) {
    const name = s.slice(LOCAL_PREFIX.length);
    if (!name || name.length > 200) return { ok: false, message: `local trace name must have 1 to 200 characters, got ${quote(name)}` };
    return { ok: true, ref: { kind: 'local', name } };
  }
  if (s.startsWith('/')) {
    if (s.startsWith('//')) return { ok: false, message: `trace path ${quote(s)} starts with "//" (another host); write https://host/… instead` };
    const path = folderOf(s);
    return { ok: true, ref: path ? { kind: 'path', path } : { kind: 'demo' } };
  }
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { ok: false, message: `trace ${quote(s)} is neither "demo", a path starting with "/", nor an http(s) URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, message: `trace URL must be a same-origin path or an http(s) URL; "${url.protocol}" URLs are not allowed` };
  if (url.username || url.password) return { ok: false, message: 'trace URL must not contain a user name or password' };
  if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname))
    return { ok: false, message: `plain http is only allowed for localhost; use https for ${url.host}` };
  if (url.hash) return { ok: false, message: `trace URL must not contain a "#" fragment` };
  return { ok: true, ref: { kind: 'url', url: url.origin + folderOf(url.pathname) + url.search } };
}

/** The canonical text of a reference (what the spec and the URL hold). */
export function formatTraceRef(ref: TraceRef): string {
  switch (ref.kind) {
    case 'demo':
      return 'demo';
    case 'path':
      return ref.path;
    case 'url':
      return ref.url;
    case 'local':
      return LOCAL_PREFIX + ref.name;
  }
}

/**
 * The base URL handed to fetchSource, or null for local files. `appBase` is the app's base path
 * (import.meta.env.BASE_URL); `pageOrigin` turns a same-origin absolute URL into a path.
 */
export function traceBaseUrl(ref: TraceRef, appBase: string, pageOrigin?: string): string | null {
  switch (ref.kind) {
    case 'demo':
      return `${appBase.endsWith('/') ? appBase : `${appBase}/`}traces/demo`;
    case 'path':
      return ref.path;
    case 'url': {
      if (pageOrigin && ref.url.startsWith(pageOrigin + '/')) return ref.url.slice(pageOrigin.length);
      return ref.url;
    }
    case 'local':
      return null;
  }
}
