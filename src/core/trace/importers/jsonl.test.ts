import { describe, expect, it } from 'vitest';
import { importJsonl } from './jsonl';
import { expectTraceError, readReal } from './test-helpers';

const MIXTRAL = 'mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl';

interface Raw {
  dataset: string;
  problem_id: number;
  layer: number;
  token_idx: number;
  experts: number[];
  gating_probs: number[];
}

describe('importJsonl on the real Mixtral 8x7B trace', () => {
  const text = readReal(MIXTRAL);
  const res = importJsonl([{ name: 'gsm8k_2_routing.jsonl', text }], { model: 'Mixtral-8x7B-Instruct-v0.1-FP8' });
  const m = res.set.manifest;
  const c = res.set.chunks[0];

  // Independent, naive recomputation: every line is one JSON record; a token is complete with all 32 layers.
  const raw: Raw[] = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Raw);
  const byToken = new Map<string, Map<number, Raw>>();
  for (const r of raw) {
    const key = `${r.dataset}/${r.problem_id}/${r.token_idx}`;
    if (!byToken.has(key)) byToken.set(key, new Map());
    byToken.get(key)!.set(r.layer, r);
  }
  const layers = new Set(raw.map((r) => r.layer));
  const completePerProblem = new Map<number, number>();
  let complete = 0;
  for (const [key, ls] of byToken)
    if (ls.size === layers.size) {
      complete++;
      const p = Number(key.split('/')[1]);
      completePerProblem.set(p, (completePerProblem.get(p) ?? 0) + 1);
    }

  it('has the shape of Mixtral: L=32, K=2, E=8, layers 0..31', () => {
    expect(m.numLayers).toBe(32);
    expect(m.topK).toBe(2);
    expect(m.numExperts).toBe(8);
    expect(m.moeLayerIds).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(m.datasets).toEqual(['gsm8k']);
    expect(m.hasWeights).toBe(true);
    expect(m.hasTokenText).toBe(false);
    expect(m.shards).toEqual([]);
    expect(m.model.name).toBe('Mixtral-8x7B-Instruct-v0.1-FP8');
    expect(res.set.chunks).toHaveLength(1);
  });

  it('counts records, tokens, dropped tokens and sequences as the naive recomputation does', () => {
    expect(res.records).toBe(raw.length);
    expect(res.records).toBe(7889); // PROVENANCE.md
    expect(res.tokens).toBe(complete);
    expect(c.tokens).toBe(complete);
    expect(res.droppedTokens).toBe(byToken.size - complete);
    expect(m.droppedTokens).toBe(res.droppedTokens);
    expect(res.sequences).toBe(completePerProblem.size);
    // Pinned values of this fixed file (problem 0: 166 complete tokens, problem 1: 78; 3 tokens lack layers).
    expect([res.tokens, res.droppedTokens, res.sequences]).toEqual([244, 3, 2]);
    for (const [p, n] of completePerProblem) expect(c.seq.filter((s) => s === p).length).toBe(n);
  });

  it('keeps sequences contiguous with ascending positions = token_idx', () => {
    for (let t = 1; t < c.tokens; t++) {
      expect(c.seq[t]).toBeGreaterThanOrEqual(c.seq[t - 1]);
      if (c.seq[t] === c.seq[t - 1]) expect(c.pos[t]).toBeGreaterThan(c.pos[t - 1]);
    }
    // Problem 0 lost tokens 166 and 167 (incomplete), problem 1 lost token 78.
    const pos0 = [...c.pos.filter((_, t) => c.seq[t] === 0)];
    expect(pos0[0]).toBe(0);
    expect(pos0.at(-1)).toBe(165);
  });

  it('copies every kept token’s experts and weights from the raw lines', () => {
    const L = m.numLayers;
    const K = m.topK;
    const mismatches: string[] = [];
    for (let t = 0; t < c.tokens; t++) {
      const ls = byToken.get(`gsm8k/${c.seq[t]}/${c.pos[t]}`)!;
      for (let l = 0; l < L; l++) {
        const r = ls.get(m.moeLayerIds[l])!;
        for (let j = 0; j < K; j++)
          if (c.experts[(t * L + l) * K + j] !== r.experts[j] || c.weights![(t * L + l) * K + j] !== Math.fround(r.gating_probs[j]))
            mismatches.push(`seq ${c.seq[t]} pos ${c.pos[t]} layer ${l} rank ${j}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(c.experts.length).toBe(244 * 32 * 2);
  });

  it('spot-checks the first line of the file', () => {
    // {"dataset": "gsm8k", "problem_id": 0, "layer": 0, "experts": [7, 0], "gating_probs": [0.8003801107406616, 0.19961987435817719], "token_idx": 0}
    expect([c.seq[0], c.pos[0], c.experts[0], c.experts[1]]).toEqual([0, 0, 7, 0]);
    expect(c.weights![0]).toBeCloseTo(0.8003801107406616, 6);
    expect(c.weights![1]).toBeCloseTo(0.19961987435817719, 6);
  });
});

const rec = (o: Record<string, unknown>) => JSON.stringify(o);
const base = { dataset: 'd', problem_id: 0, layer: 0, token_idx: 0, experts: [1, 2], gating_probs: [0.6, 0.4] };
const line = (over: Record<string, unknown> = {}) => rec({ ...base, ...over });
const one = (text: string, opts = {}) => importJsonl([{ name: 'x.jsonl', text }], opts);

describe('importJsonl on small inputs', () => {
  it('orders tokens by token_idx, ranks sparse layer ids, numbers sequences by first appearance', () => {
    const text = [
      line({ problem_id: 7, token_idx: 1, layer: 5, experts: [3, 0] }),
      line({ problem_id: 7, token_idx: 0, layer: 5 }),
      line({ problem_id: 7, token_idx: 0, layer: 2, experts: [2, 1] }),
      line({ problem_id: 7, token_idx: 1, layer: 2 }),
      line({ dataset: 'e', problem_id: 7, token_idx: 4, layer: 2 }), // other dataset → other sequence; lacks layer 5
      line({ dataset: 'e', problem_id: 7, token_idx: 3, layer: 2 }),
      line({ dataset: 'e', problem_id: 7, token_idx: 3, layer: 5 }),
      '',
    ].join('\r\n');
    expectTraceError(() => one(text), 'x.jsonl', 'layer 3 is missing in every record');
    const r = one(text, { allowLayerGaps: true });
    const m = r.set.manifest;
    const c = r.set.chunks[0];
    expect(m.moeLayerIds).toEqual([2, 5]);
    expect([m.numLayers, m.topK, m.numExperts]).toEqual([2, 2, 4]);
    expect(m.datasets).toEqual(['d', 'e']);
    expect([r.tokens, r.droppedTokens, r.sequences]).toEqual([3, 1, 2]);
    expect([...c.seq]).toEqual([0, 0, 1]);
    expect([...c.pos]).toEqual([0, 1, 3]);
    expect([...c.dataset]).toEqual([0, 0, 1]);
    // token 0: layer 2 → [2,1], layer 5 → [1,2]; token 1: layer 2 → [1,2], layer 5 → [3,0]
    expect([...c.experts.subarray(0, 8)]).toEqual([2, 1, 1, 2, 1, 2, 3, 0]);
  });

  it('takes numExperts from the options', () => {
    expect(one(line(), { numExperts: 16 }).set.manifest.numExperts).toBe(16);
  });

  it('keeps problem_id 1 and "1" apart', () => {
    expect(one([line({ problem_id: 1 }), line({ problem_id: '1' })].join('\n')).sequences).toBe(2);
  });
});

describe('importJsonl errors', () => {
  it('malformed JSON', () => {
    expectTraceError(() => one(`${line()}\n{"dataset": "d",`), 'x.jsonl:2', 'malformed JSON');
    expectTraceError(() => one('[1, 2]'), 'x.jsonl:1', 'expected a JSON object');
  });

  it('missing field', () => {
    const { layer: _, ...noLayer } = base;
    expectTraceError(() => one(rec(noLayer)), 'x.jsonl:1', 'missing field "layer"');
    const { gating_probs: __, ...noProbs } = base;
    expectTraceError(() => one(`${line()}\n\n${rec(noProbs)}`), 'x.jsonl:3', 'missing field "gating_probs"');
  });

  it('wrong types', () => {
    expectTraceError(() => one(line({ layer: '3' })), 'x.jsonl:1', 'field "layer"', 'expected an integer', 'string "3"');
    expectTraceError(() => one(line({ dataset: 5 })), 'x.jsonl:1', 'field "dataset"', 'expected a string');
    expectTraceError(() => one(line({ problem_id: 1.5 })), 'x.jsonl:1', 'field "problem_id"');
    expectTraceError(() => one(line({ token_idx: -1 })), 'x.jsonl:1', 'field "token_idx"', 'expected an integer');
    expectTraceError(() => one(line({ experts: '1,2' })), 'x.jsonl:1', 'field "experts"', 'expected an array');
    expectTraceError(() => one(line({ experts: ['a', 2] })), 'x.jsonl:1', 'field "experts"', 'element 0');
    expectTraceError(() => one(line({ gating_probs: [0.5, null] })), 'x.jsonl:1', 'field "gating_probs"', 'element 1 is null');
  });

  it('expert ids out of range or not integers', () => {
    expectTraceError(() => one(line({ experts: [-1, 2] })), 'x.jsonl:1', 'field "experts"', 'expert id -1 out of range');
    expectTraceError(() => one(line({ experts: [1, 8] }), { numExperts: 8 }), 'x.jsonl:1', 'field "experts"', 'expert id 8 out of range', '0..7');
    expectTraceError(() => one(line({ experts: [40000, 2] })), 'x.jsonl:1', 'field "experts"', 'out of range', '0..32767');
    expectTraceError(() => one(line({ experts: [1.5, 2] })), 'x.jsonl:1', 'field "experts"', 'must be integers', '1.5');
  });

  it('duplicate experts within a record', () => {
    expectTraceError(() => one(line({ experts: [3, 3] })), 'x.jsonl:1', 'field "experts"', 'expert 3 listed twice');
  });

  it('varying top-k', () => {
    const text = [line(), line({ token_idx: 1, experts: [1, 2, 3], gating_probs: [0.5, 0.3, 0.2] })].join('\n');
    expectTraceError(() => one(text), 'x.jsonl:2', 'field "experts"', 'expected 2 expert ids', 'x.jsonl:1', 'got 3');
  });

  it('weights length differs from experts length', () => {
    expectTraceError(() => one(line({ gating_probs: [1] })), 'x.jsonl:1', 'field "gating_probs"', 'expected 2 weights', 'got 1');
  });

  it('non-finite weights', () => {
    // JSON cannot spell NaN; an overflowing literal parses to Infinity.
    expectTraceError(() => one(`${line()}\n${line({ token_idx: 1 }).replace('0.6', '1e999')}`), 'x.jsonl:2', 'field "gating_probs"', 'finite', 'Infinity');
  });

  it('duplicate (sequence, token, layer) records name both lines', () => {
    const text = [line(), line({ layer: 1 }), line({ gating_probs: [0.5, 0.5] })].join('\n');
    expectTraceError(() => one(text), 'x.jsonl:3', 'duplicate record', 'token_idx 0 layer 0', 'x.jsonl:1');
    // across files too
    expectTraceError(
      () =>
        importJsonl([
          { name: 'a.jsonl', text: line() },
          { name: 'b.jsonl', text: line() },
        ]),
      'b.jsonl:1',
      'duplicate record',
      'a.jsonl:1',
    );
  });

  it('empty input', () => {
    expectTraceError(() => importJsonl([]), '(no files)', 'empty input');
    expectTraceError(() => one(''), 'x.jsonl', 'empty input');
    expectTraceError(() => one('\n  \n'), 'x.jsonl', 'empty input');
  });

  it('no token complete', () => {
    expectTraceError(() => one([line(), line({ token_idx: 1, layer: 1 })].join('\n')), 'x.jsonl', 'no complete token', '2 tokens');
  });

  it('bad numExperts option, top-k larger than numExperts', () => {
    expectTraceError(() => one(line(), { numExperts: 1 }), 'options', 'numExperts');
    expectTraceError(() => one(line({ experts: [0, 1, 2], gating_probs: [1, 1, 1] }), { numExperts: 2 }), 'x.jsonl:1', 'field "experts"', 'numExperts is 2');
    expectTraceError(() => one(line({ experts: [0], gating_probs: [1] })), 'x.jsonl:1', 'numExperts: inferred 1');
  });
});
