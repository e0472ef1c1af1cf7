import { createReadStream, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const repoRoot = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  plugins: [react(), tracesPlugin(path.join(repoRoot, 'traces')), devCspPlugin()],
  publicDir: 'public',
  // warmup: start crawling and pre-bundling dependencies at startup, not on the first page load.
  server: { port: 5173, strictPort: false, warmup: { clientFiles: ['./src/main.tsx'] } },
  // A separate pre-bundle cache on request (the first-use e2e starts a dev server as a fresh `npm start` would).
  cacheDir: process.env.SPECLAB_VITE_CACHE || 'node_modules/.vite',
  worker: { format: 'es' },
  // Pre-bundle what the workers import too: the dependency scan starts at index.html and does not follow
  // `new Worker(new URL(...))`, so on a fresh cache tfjs (training worker only) was found at the first Run,
  // re-bundled, and the page reloaded, losing that Run.
  optimizeDeps: {
    entries: ['index.html', 'src/workers/*.worker.ts'],
    include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'apache-arrow', 'comlink', 'fflate'],
  },
  // The entry chunk (react-dom, zod, d3 parts) is ~415 kB; apache-arrow lives in the trace worker, tfjs in the training worker.
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 800 },
});

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.arrow': 'application/vnd.apache.arrow.file',
  '.feather': 'application/vnd.apache.arrow.file',
  '.md': 'text/markdown; charset=utf-8',
};

/**
 * Trace sets live in the repo's `traces/` folder (one folder per set: manifest.json + shards).
 * Dev and preview serve that folder at `<base>traces/`; a build copies every trace set into
 * `dist/traces/` (its manifest.json and the shards the manifest lists, nothing half-written).
 * No symlinks and no second copy in git.
 */
function tracesPlugin(tracesDir: string): Plugin {
  let base = '/';
  let outDir = '';
  const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const prefix = `${base}traces/`;
    const url = req.url ?? '';
    if (!url.startsWith(prefix)) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD');
      return res.end();
    }
    const file = resolveTraceFile(tracesDir, url.slice(prefix.length));
    if (!file) {
      // Answer 404 here: Vite's SPA fallback would otherwise send index.html for a missing manifest.
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      return res.end(`Not found: ${url.split('?')[0]}`);
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(file.path)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD') return res.end();
    createReadStream(file.path)
      .on('error', () => res.destroy())
      .pipe(res);
  };
  return {
    name: 'speclab:traces',
    configResolved(config) {
      base = config.base.endsWith('/') ? config.base : `${config.base}/`;
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
    writeBundle() {
      const copied = copyTraceSets(tracesDir, path.join(outDir, 'traces'));
      this.info(`copied ${copied.length} trace set(s) into ${path.relative(repoRoot, outDir)}/traces: ${copied.join(', ') || '-'}`);
    },
  };
}

/** Maps a URL path below /traces/ to a regular file inside tracesDir, or null (missing, hidden, outside). */
function resolveTraceFile(tracesDir: string, rest: string): { path: string; size: number } | null {
  let rel: string;
  try {
    rel = decodeURIComponent(rest.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return null;
  const candidate = path.join(tracesDir, ...parts);
  try {
    const real = realpathSync(candidate);
    const root = realpathSync(tracesDir);
    if (!real.startsWith(root + path.sep)) return null;
    const st = statSync(real);
    return st.isFile() ? { path: real, size: st.size } : null;
  } catch {
    return null;
  }
}

/** Copies each folder under `from` that holds a manifest.json: the manifest and the shards it names. */
function copyTraceSets(from: string, to: string): string[] {
  const copied: string[] = [];
  if (!existsSync(from)) return copied;
  const walk = (dir: string) => {
    const manifestPath = path.join(dir, 'manifest.json');
    if (existsSync(manifestPath)) {
      const rel = path.relative(from, dir);
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { shards?: { file?: unknown }[] };
      const files = (manifest.shards ?? []).map((s) => s.file);
      for (const f of files) {
        if (typeof f !== 'string' || f.includes('/') || f.includes('\\') || f.startsWith('.')) {
          throw new Error(`traces/${rel}/manifest.json: bad shard file name ${JSON.stringify(f)}`);
        }
      }
      const dest = path.join(to, rel);
      mkdirSync(dest, { recursive: true });
      for (const f of ['manifest.json', ...(files as string[])]) {
        cpSync(path.join(dir, f), path.join(dest, f), { dereference: true });
      }
      copied.push(rel || '.');
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith('.')) walk(path.join(dir, entry.name));
    }
  };
  walk(from);
  return copied;
}

/**
 * index.html carries the strict Content-Security-Policy of the built app. The dev server needs inline
 * scripts (React refresh preamble), inline <style> (Vite injects CSS) and a websocket (HMR), so only
 * there the policy is relaxed.
 */
function devCspPlugin(): Plugin {
  const extra: Record<string, string[]> = {
    'script-src': ["'unsafe-inline'"],
    'style-src': ["'unsafe-inline'"],
    'connect-src': ['ws:', 'wss:'],
  };
  return {
    name: 'speclab:dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html.replace(/(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")/, (_m, open: string, policy: string, close: string) => {
        const relaxed = policy
          .split(';')
          .map((d) => d.trim())
          .filter(Boolean)
          .map((d) => {
            const name = d.split(/\s+/)[0];
            return extra[name] ? `${d} ${extra[name].join(' ')}` : d;
          })
          .join('; ');
        return open + relaxed + close;
      });
    },
  };
}
