// `speclab import` on every layout (fixtures converted from the real traces at test time) and on the shared
// Mixtral folder, which mixes the routing log with generated text: the log is imported, the rest listed with why.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REAL } from '../core/trace/importers/test-helpers';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'speclab-import-layouts-'));
const FX = join(tmp, 'fx');

async function speclab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run('npm', ['run', '--silent', 'speclab', '--', ...args], { maxBuffer: 1 << 26 })) };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(() => {
  execFileSync('.venv/bin/python', ['scripts/fixtures-layouts.py', FX, '--traces', REAL, '--deepseek-files', '4']);
}, 60_000);

describe("speclab import of other tools' layouts", () => {
  it('imports each layout (auto-detected; sglang with --layers/--top-k) and lists skipped files', async () => {
    const [mixed, vllm, sg, hf, flame, npz] = await Promise.all([
      speclab('import', join(REAL, 'mixtral-8x7b-instruct-fp8'), '-o', join(tmp, 'mixed'), '--json'),
      speclab('import', join(FX, 'vllm/mixtral.jsonl'), '-o', join(tmp, 'vllm'), '--json'),
      speclab('import', join(FX, 'sglang/deepseek.jsonl'), '--format', 'sglang', '--layers', '27', '--top-k', '6', '-o', join(tmp, 'sg'), '--json'),
      speclab('import', join(FX, 'hf/mixtral'), '-o', join(tmp, 'hf'), '--json'),
      speclab('import', join(FX, 'flame/mixtral'), '-o', join(tmp, 'flame'), '--json'),
      speclab('import', join(FX, 'vllm-npz/mixtral.npz'), '--format', 'vllm', '-o', join(tmp, 'npz'), '--json'),
    ]);
    for (const r of [mixed, vllm, sg, hf, flame, npz]) expect(r.stderr.split('\n').filter((l) => l.startsWith('speclab:'))).toEqual([]);
    const m = JSON.parse(mixed.stdout);
    expect(m).toMatchObject({ tokens: 244, files: 1 });
    expect(m.skipped).toEqual([
      { file: join(REAL, 'mixtral-8x7b-instruct-fp8/gsm8k_2_outputs.jsonl'), reason: expect.stringContaining('JSON without routing fields') },
    ]);
    expect(mixed.stderr).toContain('gsm8k_2_outputs.jsonl: JSON without routing fields');
    for (const r of [vllm, hf, flame, npz]) expect(JSON.parse(r.stdout)).toMatchObject({ tokens: 244, sequences: 2, layers: 32, experts: 8, topK: 2 });
    expect(JSON.parse(sg.stdout)).toMatchObject({ sequences: 4, layers: 26, experts: 64, topK: 6 });
  }, 120_000);

  it("sglang's shape from the model's config.json (--config), equal to --layers/--top-k; a disagreeing option is a usage error", async () => {
    const cfg = join(tmp, 'config.json');
    // DeepSeek-V2-Lite's published config: 27 layers (the first dense), 64 routed experts, top-6.
    writeFileSync(
      cfg,
      JSON.stringify({
        architectures: ['DeepseekV2ForCausalLM'],
        num_hidden_layers: 27,
        first_k_dense_replace: 1,
        n_routed_experts: 64,
        num_experts_per_tok: 6,
      }),
    );
    const [a, b, bad] = await Promise.all([
      speclab('import', join(FX, 'sglang/deepseek.jsonl'), '--format', 'sglang', '--config', cfg, '-o', join(tmp, 'sg-config'), '--json'),
      speclab('import', join(FX, 'sglang/deepseek.jsonl'), '--format', 'sglang', '--layers', '27', '--top-k', '6', '-o', join(tmp, 'sg-flags'), '--json'),
      speclab('import', join(FX, 'sglang/deepseek.jsonl'), '--format', 'sglang', '--config', cfg, '--top-k', '2', '-o', join(tmp, 'sg-bad')),
    ]);
    const { out: _a, ...fromConfig } = JSON.parse(a.stdout);
    const { out: _b, ...fromFlags } = JSON.parse(b.stdout);
    expect(fromConfig).toMatchObject({ sequences: 4, layers: 26, experts: 64, topK: 6 });
    expect(fromConfig).toEqual(fromFlags);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--top-k 2 disagrees with --config ${cfg} (6)`);
  }, 120_000);

  it('bad input: one line naming file and record, exit 1; an unknown --format is a usage error', async () => {
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, '{"meta_info": {"routed_experts": "AAAA*AAA"}}\n');
    const [r, u] = await Promise.all([
      speclab('import', bad, '--format', 'sglang', '--layers', '1', '--top-k', '1', '-o', join(tmp, 'bad-out')),
      speclab('import', bad, '--format', 'parquet', '-o', join(tmp, 'bad-out2')),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`speclab: ${bad}:1: bad base64 in routed_experts: character "*" at offset 4`]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--format must be auto, jsonl, hook-csv, vllm, sglang, hf-router-logits, flame-moe');
  }, 60_000);
});
