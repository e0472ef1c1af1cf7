import { describe, expect, it } from 'vitest';
import { readReal } from '../trace/importers/test-helpers';
import { importJsonl } from '../trace/importers';
import { syntheticTrace } from '../trace/synthetic';
import { analyze, computeStats } from './stats';

/** Per-layer stats straight from the raw JSONL records, sharing no code with the importer or analyzer. */
function naiveMixtralStats(text: string) {
  const recs = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  const layers = [...new Set(recs.map((r) => r.layer as number))].sort((a, b) => a - b);
  const tokens = new Map<string, Map<number, number[]>>();
  for (const r of recs) {
    const key = `${r.dataset}/${r.problem_id}/${r.token_idx}`;
    if (!tokens.has(key)) tokens.set(key, new Map());
    tokens.get(key)!.set(r.layer, r.experts);
  }
  const complete = new Map<string, Map<number, number[]>>();
  for (const [k, v] of tokens) if (layers.every((l) => v.has(l))) complete.set(k, v);
  const entropy = layers.map((l) => {
    const counts = new Map<number, number>();
    let n = 0;
    for (const v of complete.values()) for (const e of v.get(l)!) (counts.set(e, (counts.get(e) ?? 0) + 1), n++);
    let h = 0;
    for (const c of counts.values()) h -= (c / n) * Math.log2(c / n);
    return h;
  });
  let pairs = 0;
  const first = layers.map(() => 0);
  const any = layers.map(() => 0);
  for (const [k, v] of complete) {
    const [ds, prob, idx] = k.split('/');
    const prev = complete.get(`${ds}/${prob}/${Number(idx) - 1}`);
    if (!prev) continue;
    pairs++;
    layers.forEach((l, i) => {
      const a = v.get(l)!;
      const b = prev.get(l)!;
      if (a[0] === b[0]) first[i]++;
      if (a.some((e) => b.includes(e))) any[i]++;
    });
  }
  return {
    tokens: complete.size,
    dropped: tokens.size - complete.size,
    entropy,
    reuseFirst: first.map((x) => x / pairs),
    reuseAny: any.map((x) => x / pairs),
    pairs,
  };
}

describe('stats on the real Mixtral-8x7B trace', () => {
  const text = readReal('mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl');
  const expected = naiveMixtralStats(text);
  const set = importJsonl([{ name: 'gsm8k_2_routing.jsonl', text }]).set;
  const s = computeStats(set);

  it('counts tokens, dropped tokens and sequences', () => {
    expect(s.tokens).toBe(expected.tokens);
    expect(s.droppedTokens).toBe(expected.dropped);
    expect(s.sequences).toBe(2);
    expect(s.consecutivePairs).toBe(expected.pairs);
    expect([s.layers, s.experts, s.topK]).toEqual([32, 8, 2]);
  });

  it('matches an independent computation of entropy and reuse per layer', () => {
    s.entropyBits.forEach((h, l) => expect(h).toBeCloseTo(expected.entropy[l], 12));
    s.reuseFirst.forEach((r, l) => expect(r).toBeCloseTo(expected.reuseFirst[l], 12));
    s.reuseAny.forEach((r, l) => expect(r).toBeCloseTo(expected.reuseAny[l], 12));
    // A trained router is far from uniform at some layers and never above log2(E).
    expect(Math.max(...s.entropyBits)).toBeLessThanOrEqual(3);
    expect(Math.min(...s.entropyBits)).toBeLessThan(2.9);
  });

  it('filters by dataset', () => {
    expect(computeStats(set, { datasets: new Set([0]) }).tokens).toBe(s.tokens);
    expect(computeStats(set, { datasets: new Set([1]) }).tokens).toBe(0);
  });
});

describe('analyzer counts', () => {
  it('derives utilisation, co-activation and transitions exactly on a hand-made trace', () => {
    // Two tokens of one sequence, 2 layers, 4 experts, top-2.
    const set = syntheticTrace({ tokens: 2, numLayers: 2, numExperts: 4, topK: 2 });
    set.chunks[0].experts = Int16Array.of(0, 1, 2, 3, /* token 1 */ 1, 0, 3, 2);
    const c = analyze(set);
    expect(Array.from(c.selections)).toEqual([1, 1, 0, 0, 0, 0, 1, 1].map((x) => x * 2));
    // Layer 0: {0,1} twice. Layer 1: {2,3} twice. Symmetric.
    expect(c.coactivation[0 * 16 + 0 * 4 + 1]).toBe(2);
    expect(c.coactivation[0 * 16 + 1 * 4 + 0]).toBe(2);
    expect(c.coactivation[1 * 16 + 2 * 4 + 3]).toBe(2);
    expect(c.coactivation.reduce((a, b) => a + b, 0)).toBe(8);
    // Transitions 0->{2,3} and 1->{2,3}, once per token.
    expect(Array.from(c.transitions)).toEqual([0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Token 1 follows token 0: first choices differ (0 vs 1, 2 vs 3) but the sets overlap.
    expect(Array.from(c.reuseFirst)).toEqual([0, 0]);
    expect(Array.from(c.reuseAny)).toEqual([1, 1]);
    expect(c.consecutivePairs).toBe(1);
  });

  it('gives the same counts whatever the chunking (reuse crosses chunk boundaries)', () => {
    for (const K of [1, 2, 3]) {
      const set = syntheticTrace({ tokens: 500, numLayers: 4, numExperts: 16, topK: K, seqLen: 60, seed: K });
      const whole = analyze(set);
      const c = set.chunks[0];
      const cut = (a: number, b: number) => ({
        tokens: b - a,
        seq: c.seq.subarray(a, b),
        pos: c.pos.subarray(a, b),
        dataset: c.dataset.subarray(a, b),
        experts: c.experts.subarray(a * 4 * K, b * 4 * K),
      });
      const parts = analyze({ ...set, chunks: [cut(0, 77), cut(77, 300), cut(300, 500)] });
      expect(parts).toEqual(whole);
    }
  });

  it('does not count a pair across a gap left by a dropped token', () => {
    const set = syntheticTrace({ tokens: 3, numLayers: 1, numExperts: 4, topK: 1 });
    set.chunks[0].experts = Int16Array.of(2, 2, 2);
    set.chunks[0].pos = Int32Array.of(0, 1, 3);
    const c = analyze(set);
    expect(c.consecutivePairs).toBe(1);
    expect(Array.from(c.reuseFirst)).toEqual([1]);
  });
});
