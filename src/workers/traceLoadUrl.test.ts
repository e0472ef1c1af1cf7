import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { GuardedDecoder } from '../cli/guardedDecode';
import { fetchSource, joinChunks } from '../core/trace/read';
import type { ShardCache } from './shardCache';
import { loadFromUrl, PAGE_DECODE_BUDGET } from './traceLoad';
import type { LoadProgress } from './traceProtocol';

const DEMO = new URL('../../traces/demo/', import.meta.url).pathname;
const DEMO_MANIFEST = JSON.parse(readFileSync(`${DEMO}manifest.json`, 'utf8')) as { shards: { file: string; tokens: number; bytes: number }[] };
const DEMO_TOKENS = DEMO_MANIFEST.shards.reduce((n, s) => n + s.tokens, 0);
const guarded = new GuardedDecoder(PAGE_DECODE_BUDGET);
afterAll(() => guarded.close());
afterEach(() => vi.unstubAllGlobals());

/** fetch over traces/demo, each body streamed in `chunk`-byte parts; the names asked for, in order. */
function serveDemo(chunk = 4096): string[] {
  const asked: string[] = [];
  vi.stubGlobal('fetch', async (url: URL) => {
    const name = url.pathname.split('/').pop()!;
    asked.push(name);
    let data: Uint8Array;
    try {
      data = new Uint8Array(readFileSync(DEMO + name));
    } catch {
      return new Response('not found', { status: 404, statusText: 'Not Found' });
    }
    let o = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (o >= data.length) return ctl.close();
        ctl.enqueue(data.slice(o, o + chunk));
        o += chunk;
      },
    });
    return new Response(body, { status: 200 });
  });
  return asked;
}

function memoryCache(): ShardCache & { keys: () => string[] } {
  const m = new Map<string, Uint8Array>();
  return { disabled: null, get: async (k) => m.get(k) ?? null, put: async (k, v) => void m.set(k, v), keys: () => [...m.keys()] };
}

describe('fetchSource', () => {
  it('streams a body with progress when asked, and joins its parts', async () => {
    serveDemo(1000);
    const seen: number[] = [];
    const src = fetchSource('http://h/demo', { onBytes: (name, got) => name === 'shard-00000.arrow' && seen.push(got), progressEvery: 3000 });
    const bytes = await src.readBytes('shard-00000.arrow');
    expect(bytes).toEqual(new Uint8Array(readFileSync(`${DEMO}shard-00000.arrow`)));
    expect(seen.length).toBe(Math.floor(bytes.length / 3000));
    expect(seen.every((g, i) => g >= 3000 * (i + 1) && g < 3000 * (i + 1) + 1000)).toBe(true);
    // Without onBytes: the plain body, no progress.
    expect(await fetchSource('http://h/demo/').readBytes('shard-00000.arrow')).toEqual(bytes);
    await expect(fetchSource('http://h/demo').readText('missing.json')).rejects.toThrow('http://h/demo/missing.json: HTTP 404 Not Found');
  });

  it('joinChunks joins parts in order (one part as it is)', () => {
    const a = Uint8Array.of(1, 2);
    expect(joinChunks([a, Uint8Array.of(3), new Uint8Array(0), Uint8Array.of(4, 5)])).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
    expect(joinChunks([a])).toBe(a);
    expect(joinChunks([])).toEqual(new Uint8Array(0));
  });
});

describe('loadFromUrl', () => {
  it('reads the manifest once, streams shards with progress counted across the load, and caches by the manifest checksums', async () => {
    const asked = serveDemo(64 * 1024);
    const cache = memoryCache();
    const seen: LoadProgress[] = [];
    const first = await loadFromUrl('http://h/demo/', cache, (p) => seen.push(p), guarded);
    expect(first.info.tokens).toBe(DEMO_TOKENS);
    expect(asked).toEqual(['manifest.json', ...DEMO_MANIFEST.shards.map((s) => s.file)]);
    expect(first.info.cache).toEqual({ hits: 0, misses: DEMO_MANIFEST.shards.length, cacheOff: null });
    expect(first.info.bytes).toBe(DEMO_MANIFEST.shards.reduce((n, s) => n + readFileSync(DEMO + s.file).length, 0));
    // Every shard goes into the cache under its manifest checksum.
    expect(cache.keys().sort()).toEqual(
      (JSON.parse(readFileSync(`${DEMO}manifest.json`, 'utf8')) as { shards: { sha256: string }[] }).shards.map((s) => s.sha256).sort(),
    );
    // Progress only grows; each shard's decoding is announced with its allowance.
    const bytes = seen.map((p) => p.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(seen.filter((p) => p.phase === 'decoding' && p.quietMs !== undefined)).toHaveLength(DEMO_MANIFEST.shards.length);
    expect(seen.at(-1)).toEqual({ phase: 'decoding', bytes: first.info.bytes, tokens: DEMO_TOKENS });

    // Again: only the manifest is fetched, every shard comes from the cache.
    asked.length = 0;
    const again = await loadFromUrl('http://h/demo', cache, () => {}, guarded);
    expect(asked).toEqual(['manifest.json']);
    expect(again.info.cache).toEqual({ hits: DEMO_MANIFEST.shards.length, misses: 0, cacheOff: null });
    expect(again.set.chunks.map((c) => c.tokens)).toEqual(first.set.chunks.map((c) => c.tokens));
  });
});
