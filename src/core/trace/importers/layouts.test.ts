// The vLLM, SGLang, HF router-logits and FLAME-MoE importers on the real traces converted into each layout by
// scripts/fixtures-layouts.py (at test time, into a temp folder): the statistics equal the original's, and
// malformed inputs of each layout fail with one line naming file and record.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeStats, type TraceStats } from '../../analysis/stats';
import { TraceError } from '../types';
import { classifyFile, detectFormat, importFiles, importFilesAsync, type ImportFormat, type RawFile } from './index';
import { expectTraceError, listReal, readReal, REAL } from './test-helpers';

const FX = mkdtempSync(join(tmpdir(), 'speclab-layouts-'));
const DS_FILES = 8;

function walk(p: string): string[] {
  return statSync(p).isDirectory() ? readdirSync(p).flatMap((n) => walk(join(p, n))) : [p];
}
/** Files under FX/sub as RawFile bytes, named relative to FX (so samples/ and actives/ show in the name). */
function raw(sub: string): RawFile[] {
  return walk(join(FX, sub))
    .sort()
    .map((p) => ({ name: relative(FX, p), data: new Uint8Array(readFileSync(p)) }));
}
const text = (f: RawFile) => new TextDecoder().decode(f.data as Uint8Array);

/** The statistics the issue names: tokens, sequences, layers, experts, entropy, reuse (and per-expert use). */
function core(s: TraceStats) {
  return {
    tokens: s.tokens,
    sequences: s.sequences,
    layers: s.layers,
    experts: s.experts,
    topK: s.topK,
    moeLayerIds: s.moeLayerIds,
    consecutivePairs: s.consecutivePairs,
    entropyBits: s.entropyBits,
    reuseFirst: s.reuseFirst,
    reuseAny: s.reuseAny,
    utilisation: s.utilisation,
  };
}

let mixtral: ReturnType<typeof core>;
let deepseek: ReturnType<typeof core>;

beforeAll(() => {
  execFileSync('.venv/bin/python', ['scripts/fixtures-layouts.py', FX, '--traces', REAL, '--deepseek-files', String(DS_FILES)]);
  mixtral = core(computeStats(importFiles([{ name: 'g.jsonl', data: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set));
  const dir = 'deepseek-v2-lite-chat/puffin-1-100';
  const csvs = listReal(dir)
    .filter((n) => /^prompt_[1-8]_data\.csv$/.test(n))
    .map((n) => ({ name: n, data: readReal(`${dir}/${n}`) }));
  expect(csvs).toHaveLength(DS_FILES);
  deepseek = core(computeStats(importFiles(csvs, 'hook-csv').set));
}, 60_000);

async function statsOf(sub: string, format: ImportFormat = 'auto', opts = {}) {
  const r = await importFilesAsync(raw(sub), format, opts);
  return { r, s: core(computeStats(r.set)) };
}

describe('importers give the statistics of the original real trace', () => {
  it('vllm JSON Lines (Mixtral, DeepSeek)', async () => {
    const m = await statsOf('vllm/mixtral.jsonl');
    expect(m.r.set.manifest.source).toMatchObject({ importer: 'vllm' });
    expect(m.s).toEqual(mixtral);
    // DeepSeek's MoE layers are model layers 1..26; vLLM numbers its MoE layers 0..25.
    const d = await statsOf('vllm/deepseek.jsonl');
    expect({ ...d.s, moeLayerIds: deepseek.moeLayerIds }).toEqual(deepseek);
  });

  it('vllm .npy and .npz', async () => {
    expect((await statsOf('vllm-npy')).s).toEqual(mixtral);
    expect((await statsOf('vllm-npz')).s).toEqual(mixtral);
  });

  it('sglang base64, OpenAI-style choices and meta_info with a dense layer', async () => {
    expect((await statsOf('sglang/mixtral.jsonl', 'auto', { layers: 32, topK: 2 })).s).toEqual(mixtral);
    // Layer 0 is dense (-1): the MoE layers are 1..26 as in the hook CSVs.
    expect((await statsOf('sglang/deepseek.jsonl', 'auto', { layers: 27, topK: 6 })).s).toEqual(deepseek);
  });

  it('hf-router-logits: float32 [seq, E]; bfloat16 and float16 [batch, seq, E] with padding', async () => {
    const m = await statsOf('hf/mixtral');
    expect(m.s).toEqual(mixtral);
    // Renormalised softmax top-2 gives back the recorded gating weights.
    const orig = importFiles([{ name: 'g.jsonl', data: readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl') }]).set.chunks[0].weights!;
    const got = m.r.set.chunks[0].weights!;
    let worst = 0;
    for (let i = 0; i < orig.length; i++) worst = Math.max(worst, Math.abs(orig[i] - got[i]));
    expect(worst).toBeLessThan(2e-4);
    expect((await statsOf('hf/deepseek')).s).toEqual(deepseek);
  });

  it('flame-moe Parquet (samples/ + actives/iter/layer_NN)', async () => {
    const f = await statsOf('flame');
    expect(f.s).toEqual(mixtral);
    expect(f.r.set.manifest.datasets).toEqual(['iter_0001']);
    expect(() => importFiles(raw('flame'))).toThrow(/importFilesAsync/);
  });

  it('auto-detects each layout by its contents', () => {
    const first = (sub: string) => raw(sub)[0];
    expect(detectFormat('', first('vllm/mixtral.jsonl').data)).toBe('vllm');
    expect(detectFormat('', first('sglang/mixtral.jsonl').data)).toBe('sglang');
    expect(detectFormat('', first('sglang/deepseek.jsonl').data)).toBe('sglang');
    expect(detectFormat('', first('vllm-npy').data)).toBe('vllm');
    expect(detectFormat('a.npz', first('vllm-npz').data)).toBe('vllm');
    expect(detectFormat('', first('hf/mixtral').data)).toBe('hf-router-logits');
    const parquet = raw('flame');
    expect(parquet.map((p) => detectFormat(p.name, p.data)).every((d) => d === 'flame-moe')).toBe(true);
    expect(detectFormat('elsewhere/x.parquet', parquet[0].data)).toBeNull();
  });
});

describe('malformed inputs: one line naming file and record', () => {
  const one = (name: string, data: string | Uint8Array): RawFile[] => [{ name, data }];

  it('vllm: wrong shape, ids out of range, misaligned token ids, bad .npy', () => {
    const [f] = raw('vllm/mixtral.jsonl');
    const lines = text(f).trim().split('\n');
    const r1 = JSON.parse(lines[1]);
    r1.routed_experts[5].pop();
    expectTraceError(
      () => importFiles(one('v.jsonl', [lines[0], JSON.stringify(r1)].join('\n')), 'vllm'),
      'v.jsonl:2',
      'token 5',
      'wrong shape',
      'expected 32 layers',
    );
    const r0 = JSON.parse(lines[0]);
    r0.routed_experts[3][7] = [1, 99];
    expectTraceError(
      () => importFiles(one('v.jsonl', JSON.stringify(r0)), 'vllm', { numExperts: 8 }),
      'v.jsonl:1',
      'token 3 layer 7',
      'expert id 99 out of range',
    );
    const r2 = JSON.parse(lines[0]);
    const T = r2.routed_experts.length;
    r2.prompt_token_ids = [1, 2];
    r2.output_token_ids = Array.from({ length: T + 5 }, (_, i) => i);
    expectTraceError(() => importFiles(one('v.jsonl', JSON.stringify(r2)), 'vllm'), 'v.jsonl:1', `${T + 7} token ids`, `for ${T} routed tokens`);
    // One more id than rows (vLLM does not route the last token): rows align to the first ids.
    r2.prompt_token_ids = [101];
    r2.output_token_ids = Array.from({ length: T }, (_, i) => 1000 + i);
    const ok = importFiles(one('v.jsonl', JSON.stringify(r2)), 'vllm').set;
    expect(ok.manifest.hasTokenIds).toBe(true);
    expect([ok.chunks[0].tokenId![0], ok.chunks[0].tokenId![1], ok.chunks[0].tokenId![T - 1]]).toEqual([101, 1000, 1000 + T - 2]);
    const npy = raw('vllm-npy')[0].data as Uint8Array;
    expectTraceError(() => importFiles(one('a.npy', npy.subarray(0, npy.length - 10))), 'a.npy', 'truncated .npy data');
  });

  it('sglang: bad base64, wrong shape, shape missing, partial dense layer', () => {
    const [f] = raw('sglang/deepseek.jsonl');
    const line = text(f).split('\n')[0];
    expectTraceError(
      () => importFiles(one('s.jsonl', line.replace(/"routed_experts": "(....)/, '"routed_experts": "$1!')), 'sglang', { layers: 27, topK: 6 }),
      's.jsonl:1',
      'bad base64',
      'character "!"',
    );
    expectTraceError(
      () => importFiles(one('s.jsonl', line), 'sglang', { layers: 26, topK: 6 }),
      's.jsonl:1',
      'wrong shape',
      'not a whole number of tokens of 26 layers x top-6',
    );
    expectTraceError(() => importFiles(one('s.jsonl', line), 'sglang'), 's.jsonl', '--layers N --top-k K');
    const m = JSON.parse(line);
    const ids = new Int32Array(Uint8Array.from(atob(m.meta_info.routed_experts), (c) => c.charCodeAt(0)).buffer);
    ids[6 * 27 + 3] = 5; // token 1, layer 0 (dense) gets one real id
    m.meta_info.routed_experts = btoa(String.fromCharCode(...new Uint8Array(ids.buffer)));
    expectTraceError(
      () => importFiles(one('s.jsonl', JSON.stringify(m)), 'sglang', { layers: 27, topK: 6 }),
      's.jsonl:1',
      'token 1 layer 0',
      '-1 (dense layer) in only 5 of 6 slots',
    );
    const [mx] = raw('sglang/mixtral.jsonl');
    const m2 = JSON.parse(text(mx).split('\n')[1]);
    const ids2 = new Int32Array(Uint8Array.from(atob(m2.choices[0].sgl_ext.routed_experts), (c) => c.charCodeAt(0)).buffer);
    ids2[(2 * 32 + 4) * 2] = 8;
    m2.choices[0].sgl_ext.routed_experts = btoa(String.fromCharCode(...new Uint8Array(ids2.buffer)));
    expectTraceError(
      () => importFiles(one('o.jsonl', JSON.stringify(m2)), 'sglang', { layers: 32, topK: 2, numExperts: 8 }),
      'o.jsonl:1 choices[0]',
      'token 2 layer 4',
      'expert id 8 out of range',
    );
  });

  it('hf-router-logits: truncated header, mismatched mask, wrong shape, ids out of range', () => {
    const [d0] = raw('hf/deepseek');
    const b = d0.data as Uint8Array;
    expectTraceError(() => importFiles(one('p.safetensors', b.subarray(0, 200)), 'hf-router-logits'), 'p.safetensors', 'truncated safetensors header');
    expectTraceError(() => importFiles(one('p.safetensors', b.subarray(0, 5)), 'hf-router-logits'), 'p.safetensors', 'truncated safetensors header');
    // Rewrite the header: attention_mask one column short.
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n)));
    const editHeader = (fn: (h: Record<string, { shape: number[]; data_offsets: number[] }>) => void) => {
      const h = structuredClone(header);
      fn(h);
      let j = new TextEncoder().encode(JSON.stringify(h));
      j = Uint8Array.from([...j, ...new Array((8 - (j.length % 8)) % 8).fill(32)]);
      const out = new Uint8Array(8 + j.length + b.length - 8 - n);
      new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
      out.set(j, 8);
      out.set(b.subarray(8 + n), 8 + j.length);
      return out;
    };
    const [B, S] = header.attention_mask.shape;
    const short = editHeader((h) => {
      h.attention_mask.shape = [B, S - 1];
      h.attention_mask.data_offsets = [h.attention_mask.data_offsets[0], h.attention_mask.data_offsets[0] + B * (S - 1) * 8];
    });
    expectTraceError(() => importFiles(one('p.safetensors', short), 'hf-router-logits'), 'p.safetensors', 'mismatched attention_mask', `[${B}, ${S - 1}]`);
    const wrong = editHeader((h) => {
      const t = h['router_logits.3'];
      t.shape = [B * S, 64];
    });
    expectTraceError(() => importFiles(one('p.safetensors', wrong), 'hf-router-logits'), 'p.safetensors', 'wrong shape: router_logits.3');
    // input_ids out of range: the mask's bytes relabelled as int64 ids with one negative value.
    const ids = editHeader((h) => {
      h.input_ids = { ...h.attention_mask } as never;
    });
    const n2 = Number(new DataView(ids.buffer).getBigUint64(0, true));
    const maskAt = 8 + n2 + header.attention_mask.data_offsets[0];
    new DataView(ids.buffer).setBigInt64(maskAt + 3 * 8, -7n, true);
    expectTraceError(
      () => importFiles(one('p.safetensors', ids), 'hf-router-logits'),
      'p.safetensors',
      'input_ids: token id -7 out of range',
      'batch row 0 position 3',
    );
    // Expert ids beyond a given --experts: named by file, batch row, token and layer.
    expectTraceError(
      () => importFiles(one('p.safetensors', b), 'hf-router-logits', { numExperts: 60 }),
      'p.safetensors batch row 0',
      'layer 1',
      'out of range',
    );
  });

  it('flame-moe: rows misaligned with samples, ids out of range, wrong list length, unreadable Parquet', async () => {
    const files = raw('flame');
    // Drop one samples file: the actives rows no longer align with the tokens.
    const fewer = files.filter((f) => !f.name.endsWith('samples/001.parquet'));
    const err = await importFilesAsync(fewer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TraceError);
    expect((err as TraceError).message).toMatch(/^flame\/mixtral\/actives\/iter_0001\/layer_00\.parquet: 244 rows, the samples files have \d+ tokens/);
    const e2 = await importFilesAsync(files, 'flame-moe', { numExperts: 4 }).catch((e: unknown) => e);
    expect((e2 as TraceError).message).toMatch(/^flame\/mixtral\/actives\/iter_0001\/layer_00\.parquet: row \d+: expert id \d out of range, expected 0\.\.3/);
    const e4 = await importFilesAsync(raw('malformed/flame-k'), 'flame-moe').catch((e: unknown) => e);
    expect((e4 as TraceError).message).toBe(
      'malformed/flame-k/actives/iter_0001/layer_07.parquet: row 10: wrong shape, 1 indices, expected 2 (top-k set by malformed/flame-k/actives/iter_0001/layer_00.parquet row 0)',
    );
    const junk = files.map((f) => (f.name.endsWith('layer_05.parquet') ? { ...f, data: (f.data as Uint8Array).subarray(0, 40) } : f));
    const e3 = await importFilesAsync(junk, 'flame-moe').catch((e: unknown) => e);
    expect((e3 as TraceError).message).toMatch(/^flame\/mixtral\/actives\/iter_0001\/layer_05\.parquet: unreadable Parquet/);
  });
});

describe('folders mixing logs with other files', () => {
  it('classifyFile says why a file is not read', () => {
    const outputs = readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_outputs.jsonl');
    expect(classifyFile('mixtral/gsm8k_2_outputs.jsonl', new TextEncoder().encode(outputs.slice(0, 65536)))).toEqual({
      format: null,
      reason: 'JSON without routing fields (none of "layer"+"experts", "routed_experts", meta_info.routed_experts)',
    });
    expect(
      classifyFile('mixtral/gsm8k_2_routing.jsonl', new TextEncoder().encode(readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl').slice(0, 4096))),
    ).toEqual({ format: 'jsonl' });
    expect(classifyFile('notes/README.md', new TextEncoder().encode('# notes'))).toMatchObject({
      format: null,
      reason: 'not a routing log (unrecognised contents)',
    });
    expect(classifyFile('x/other.parquet', raw('flame')[0].data as Uint8Array)).toMatchObject({
      format: null,
      reason: expect.stringContaining('outside a FLAME-MoE'),
    });
  });
});
