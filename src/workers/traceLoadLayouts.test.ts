// The page's import path (loadFromFiles, as the picker and drop use it) on the real Mixtral folder, which mixes
// the routing log with generated text, and on the layouts of scripts/fixtures-layouts.py.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedDecoder } from '../cli/guardedDecode';
import { REAL } from '../core/trace/importers/test-helpers';
import { PAGE_DECODE_BUDGET, loadFromFiles } from './traceLoad';
import type { PickedFile } from './traceProtocol';

const guarded = new GuardedDecoder(PAGE_DECODE_BUDGET);
afterAll(() => guarded.close());
const FX = mkdtempSync(join(tmpdir(), 'speclab-page-layouts-'));
const picked = (path: string, data: string | Uint8Array): PickedFile => ({ file: new File([data as BlobPart], path.split('/').pop()!), path });
function folder(root: string, label: string): PickedFile[] {
  const walk = (p: string): string[] => (statSync(p).isDirectory() ? readdirSync(p).flatMap((n) => walk(join(p, n))) : [p]);
  return walk(root).map((p) => picked(join(label, relative(root, p)), new Uint8Array(readFileSync(p))));
}
const none = () => {};

beforeAll(() => {
  execFileSync('.venv/bin/python', ['scripts/fixtures-layouts.py', FX, '--traces', REAL, '--deepseek-files', '4']);
}, 60_000);

describe('the page opens routing folders with other files in them', () => {
  it('the shared Mixtral folder: imports the log, lists gsm8k_2_outputs.jsonl as skipped and why', async () => {
    const r = await loadFromFiles(folder(join(REAL, 'mixtral-8x7b-instruct-fp8'), 'mixtral-8x7b-instruct-fp8'), none, guarded);
    expect(r.info.origin).toBe('import');
    expect(r.info.tokens).toBe(244);
    expect(r.info.skipped).toEqual(['mixtral-8x7b-instruct-fp8/gsm8k_2_outputs.jsonl']);
    expect(r.info.skippedReasons).toEqual([expect.stringContaining('JSON without routing fields')]);
  });

  it('a FLAME-MoE folder (Parquet) and an SGLang log with its model config.json', async () => {
    const f = await loadFromFiles(folder(join(FX, 'flame/mixtral'), 'mixtral'), none, guarded);
    expect(f.info.imported).toMatchObject({ format: 'flame-moe', files: 34 });
    expect(f.info.tokens).toBe(244);
    const sg = await loadFromFiles(
      [
        picked('sg/deepseek.jsonl', readFileSync(join(FX, 'sglang/deepseek.jsonl'))),
        picked('sg/config.json', JSON.stringify({ num_hidden_layers: 27, num_experts_per_tok: 6, n_routed_experts: 64 })),
      ],
      none,
      guarded,
    );
    expect(sg.set.manifest).toMatchObject({ numLayers: 26, topK: 6, moeLayerIds: Array.from({ length: 26 }, (_, i) => i + 1) });
    expect(sg.info.skipped).toEqual(['sg/config.json']);
    const hf = await loadFromFiles(folder(join(FX, 'hf/deepseek'), 'hf'), none, guarded);
    expect(hf.info.imported).toMatchObject({ format: 'hf-router-logits', files: 2 });
  });
});
