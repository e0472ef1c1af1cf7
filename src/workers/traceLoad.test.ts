import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { GuardedDecoder } from '../cli/guardedDecode';
import { WORKER_READY } from '../core/trace/decodeJobs';
import { DecodeTimeout, GuardedRunner, type WorkerHandle } from '../core/trace/guarded';
import { encodeShard } from '../core/trace/shard';
import { sha256Hex } from '../core/trace/hash';
import { syntheticTrace } from '../core/trace/synthetic';
import { serializeManifest } from '../core/trace/manifest';
import { loadFromFiles as load, PAGE_DECODE_BUDGET, quietMsFor, type TraceDecoder } from './traceLoad';
import type { LoadProgress, PickedFile } from './traceProtocol';

const REAL = new URL('../../../shared/traces-real/', import.meta.url).pathname;
const DEMO = new URL('../../traces/demo/', import.meta.url).pathname;
const ARROW_FUZZ = new URL('../../../shared/arrow-fuzz/', import.meta.url).pathname;

const picked = (path: string, data: string | Uint8Array): PickedFile => ({ file: new File([data as BlobPart], path.split('/').pop()!), path });
const fromDisk = (dir: string, name: string, prefix = ''): PickedFile => picked(prefix + name, new Uint8Array(readFileSync(dir + name)));
const noProgress = () => {};
const DEMO_MANIFEST = JSON.parse(readFileSync(`${DEMO}manifest.json`, 'utf8')) as { shards: { file: string; tokens: number }[] };
const DEMO_TOKENS = DEMO_MANIFEST.shards.reduce((n, s) => n + s.tokens, 0);
const REGRESSIONS = new URL('../core/trace/fixtures/regressions/', import.meta.url).pathname;

// The page's budgets, with the decoding in a worker thread as the trace worker does it in a Web Worker.
const guarded = new GuardedDecoder(PAGE_DECODE_BUDGET);
afterAll(() => guarded.close());
const loadFromFiles = (files: PickedFile[], onProgress: (p: LoadProgress) => void, decoder: TraceDecoder = guarded) => load(files, onProgress, decoder);

/** A decode worker that starts, takes jobs and never answers: what a file that hangs a reader looks like. */
function silentWorker(jobs: string[]): WorkerHandle {
  return {
    post: (msg) => void jobs.push((msg as { kind: string }).kind),
    listen: (onMessage) => void setTimeout(() => onMessage(WORKER_READY), 0),
    terminate: () => void jobs.push('terminated'),
  };
}

describe('loadFromFiles', () => {
  it('opens a trace set folder (manifest.json + shards) and ignores files outside it', async () => {
    const files = ['manifest.json', ...DEMO_MANIFEST.shards.map((s) => s.file)].map((n) => fromDisk(DEMO, n, 'demo/'));
    files.push(picked('demo/sub/notes.txt', 'hello'));
    const steps: number[] = [];
    const r = await loadFromFiles(files, (p) => steps.push(p.tokens));
    expect(r.info.origin).toBe('trace-set-files');
    expect(r.info.label).toBe('demo');
    expect(r.info.tokens).toBe(DEMO_TOKENS);
    expect(r.info.skipped).toEqual(['demo/sub/notes.txt']);
    expect(steps.at(-1)).toBe(DEMO_TOKENS);
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

  it('reads one shard dropped alone as a lone shard, its shape inferred in the decoder', async () => {
    const r = await loadFromFiles([fromDisk(DEMO, 'shard-00001.arrow')], noProgress);
    expect(r.info).toMatchObject({ origin: 'shard', label: 'shard-00001.arrow', tokens: DEMO_MANIFEST.shards[1].tokens });
    expect(r.set.manifest).toMatchObject({ numLayers: 6, numExperts: 8, topK: 2 });
    expect(r.info.inferred?.topK).toMatch(/distinct/);
  });

  it("rejects hostile Arrow files dropped alone with the decoder's message naming the file", async () => {
    // Sent apache-arrow's reader into a > 40 s loop before the structure check existed.
    const name = 'fuzz-s1-c318-hang.arrow';
    await expect(loadFromFiles([fromDisk(REGRESSIONS, name)], noProgress)).rejects.toThrow(
      /^fuzz-s1-c318-hang\.arrow: file footer: flatbuffer offset \d+ points outside/,
    );
    // An IPC stream (no ARROW1 magic, a continuation marker) is recognised as Arrow too and decoded, not skipped.
    const stream = new Uint8Array(readFileSync(`${ARROW_FUZZ}arrow-ipc-stream_clusterfuzz-testcase-arrow-ipc-stream-fuzz-5077390980284416`));
    expect(Array.from(stream.subarray(0, 4))).toEqual([0xff, 0xff, 0xff, 0xff]);
    await expect(loadFromFiles([picked('fuzz-5077', stream)], noProgress)).rejects.toThrow(/^fuzz-5077: (message|schema|record|Arrow|flatbuffer|file)/);
  });

  it('stops a decode that overruns its budget in every path: trace set, lone shard, raw logs', async () => {
    const jobs: string[] = [];
    const runner = new GuardedRunner(() => silentWorker(jobs), { baseMs: 150, msPerMB: 0, importMsPerMB: 0 });
    const set = ['manifest.json', 'shard-00000.arrow', 'shard-00001.arrow'].map((n) => fromDisk(DEMO, n, 'demo/'));
    const timeout = /reading took longer than 150 ms; rejected as malformed \(the worker was stopped\)/;
    const e1 = await loadFromFiles(set, noProgress, runner).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DecodeTimeout);
    expect((e1 as Error).message).toMatch(/^demo\/shard-00000\.arrow: /);
    expect((e1 as Error).message).toMatch(timeout);
    await expect(loadFromFiles([fromDisk(DEMO, 'shard-00001.arrow')], noProgress, runner)).rejects.toThrow(timeout);
    const csv = 'Layer ID,Batch Number,Token,Activated Expert IDs\n1,0,a,"[1, 2]"\n';
    await expect(loadFromFiles([picked('p.csv', csv)], noProgress, runner)).rejects.toThrow(/^p\.csv: reading took longer/);
    expect(jobs).toEqual(['decode', 'terminated', 'inspect', 'terminated', 'import', 'terminated']);
    runner.close();
  });

  it('says what to open when shards come without their manifest, or nothing is routing data', async () => {
    await expect(loadFromFiles([fromDisk(DEMO, 'shard-00000.arrow'), fromDisk(DEMO, 'shard-00001.arrow')], noProgress)).rejects.toThrow(
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
