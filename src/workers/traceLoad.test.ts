import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeShard } from '../core/trace/shard';
import { sha256Hex } from '../core/trace/hash';
import { syntheticTrace } from '../core/trace/synthetic';
import { serializeManifest } from '../core/trace/manifest';
import { loadFromFiles, quietMsFor } from './traceLoad';
import type { LoadProgress, PickedFile } from './traceProtocol';

const REAL = new URL('../../../shared/traces-real/', import.meta.url).pathname;
const DEMO = new URL('../../traces/demo/', import.meta.url).pathname;

const picked = (path: string, data: string | Uint8Array): PickedFile => ({ file: new File([data as BlobPart], path.split('/').pop()!), path });
const fromDisk = (dir: string, name: string, prefix = ''): PickedFile => picked(prefix + name, new Uint8Array(readFileSync(dir + name)));
const noProgress = () => {};

describe('loadFromFiles', () => {
  it('opens a trace set folder (manifest.json + shards) and ignores files outside it', async () => {
    const files = ['manifest.json', 'shard-00000.arrow', 'shard-00001.arrow'].map((n) => fromDisk(DEMO, n, 'demo/'));
    files.push(picked('demo/sub/notes.txt', 'hello'));
    const steps: number[] = [];
    const r = await loadFromFiles(files, (p) => steps.push(p.tokens));
    expect(r.info.origin).toBe('trace-set-files');
    expect(r.info.label).toBe('demo');
    expect(r.info.tokens).toBe(1964);
    expect(r.info.skipped).toEqual(['demo/sub/notes.txt']);
    expect(steps.at(-1)).toBe(1964);
  });

  it('imports real DeepSeek hook CSVs, naming the dataset after their folder', async () => {
    const dir = `${REAL}deepseek-v2-lite-chat/puffin-1-100/`;
    const files = ['prompt_1_data.csv', 'prompt_2_data.csv'].map((n) => fromDisk(dir, n, 'puffin-1-100/'));
    files.push(picked('puffin-1-100/README.md', '# notes'));
    const r = await loadFromFiles(files, noProgress);
    expect(r.info.origin).toBe('import');
    expect(r.info.imported).toMatchObject({ format: 'hook-csv', files: 2 });
    expect(r.info.skipped).toEqual(['puffin-1-100/README.md']);
    expect(r.set.manifest).toMatchObject({ numLayers: 26, numExperts: 64, topK: 6, datasets: ['puffin-1-100'] });
  });

  it('imports the real Mixtral JSONL, announcing how long the import may stay silent', async () => {
    const seen: LoadProgress[] = [];
    const r = await loadFromFiles([fromDisk(`${REAL}mixtral-8x7b-instruct-fp8/`, 'gsm8k_2_routing.jsonl')], (p) => seen.push(p));
    const importing = seen.find((p) => p.phase === 'importing');
    expect(importing?.quietMs).toBe(quietMsFor(importing!.bytes, 400));
    expect(importing!.quietMs).toBeGreaterThan(5000);
    expect(r.set.manifest).toMatchObject({ numLayers: 32, numExperts: 8, topK: 2 });
    expect(r.info.label).toBe('gsm8k_2_routing.jsonl');
  });

  it('says what to open when a shard comes without its manifest, or nothing is routing data', async () => {
    await expect(loadFromFiles([fromDisk(DEMO, 'shard-00000.arrow')], noProgress)).rejects.toThrow(
      'shard-00000.arrow: is part of a SpecLab trace set but its manifest.json was not opened with it',
    );
    await expect(loadFromFiles([picked('a.md', '# hi'), picked('b.png', 'x')], noProgress)).rejects.toThrow(/no routing data.*not recognised: a\.md, b\.png/);
    await expect(loadFromFiles([], noProgress)).rejects.toThrow('no files were given');
    const two = [picked('a/manifest.json', '{}'), picked('b/manifest.json', '{}')];
    await expect(loadFromFiles(two, noProgress)).rejects.toThrow('2 manifest.json files');
  });

  it('names the missing shard and the corrupted one', async () => {
    await expect(loadFromFiles([fromDisk(DEMO, 'manifest.json', 'demo/'), fromDisk(DEMO, 'shard-00000.arrow', 'demo/')], noProgress)).rejects.toThrow(
      'demo/shard-00001.arrow: is listed in manifest.json but was not among the opened files',
    );
    const set = syntheticTrace({ tokens: 50, numLayers: 2, numExperts: 4, topK: 2, seqLen: 10, seed: 2 });
    const bytes = encodeShard(set.chunks[0], set.manifest);
    const manifest = { ...set.manifest, shards: [{ file: 's.arrow', tokens: 50, sha256: await sha256Hex(bytes) }] };
    const bad = bytes.slice();
    bad[bad.length >> 1] ^= 0xff;
    await expect(loadFromFiles([picked('manifest.json', serializeManifest(manifest)), picked('s.arrow', bad)], noProgress)).rejects.toThrow(
      /opened files\/s\.arrow: SHA-256 is [0-9a-f]{64}, the manifest says/,
    );
  });
});
