import { describe, expect, it } from 'vitest';
import { coactivationLift } from '../panels/CoactivationPanel';
import { tableText } from './tableText';

const T = {
  header: ['predictor', 'layer l+1 recall@k', 'windows'],
  rows: [
    ['markov baseline', '41.2%', '1,024'],
    ['a|b_c', '—', '7'],
  ],
};
const LINK = 'http://x/#v=2&z=abc';

describe('results tables as files', () => {
  it('CSV starts with the experiment link', () => {
    const csv = tableText(T, 'csv', LINK).split('\n');
    expect(csv[0]).toBe(`# experiment: ${LINK}`);
    expect(csv[1]).toBe('predictor,layer l+1 recall@k,windows');
    expect(csv[2]).toBe('markov baseline,41.2%,"1,024"');
  });
  it('Markdown is a pipe table with escaped pipes, numbers right-aligned', () => {
    const md = tableText(T, 'md', LINK).split('\n');
    expect(md[0]).toBe(`<!-- experiment: ${LINK} -->`);
    expect(md[1]).toBe('| predictor | layer l+1 recall@k | windows |');
    expect(md[2]).toBe('| :--- | ---: | ---: |');
    expect(md[4]).toBe('| a\\|b_c | — | 7 |');
  });
  it('LaTeX is a booktabs tabular with special characters escaped', () => {
    const tex = tableText(T, 'tex', LINK);
    expect(tex).toContain('\\begin{tabular}{lrr}');
    expect(tex).toContain('markov baseline & 41.2\\% & 1,024 \\\\');
    expect(tex).toContain('a|b\\_c & --- & 7 \\\\');
    expect(tex).toMatch(/^% experiment: /);
    expect(tex).toContain('\\bottomrule\n\\end{tabular}');
  });
});

describe('co-activation lift', () => {
  it('is 1 for experts chosen independently, above 1 for a pair chosen together more often', () => {
    // 4 experts, top-2, 100 tokens; utilisation = share of selections (each token makes 2).
    const E = 4;
    const tokens = 100;
    const util = [0.25, 0.25, 0.25, 0.25]; // each expert chosen by 50% of tokens
    const pairs = new Float64Array(E * E);
    pairs[0 * E + 1] = pairs[1 * E + 0] = 50; // e0 and e1 always together: P = 0.5 vs 0.25 independent
    pairs[2 * E + 3] = pairs[3 * E + 2] = 25; // as often as independent choice
    const lift = coactivationLift(pairs, 0, E, tokens, util, 2);
    expect(lift[0 * E + 1]).toBeCloseTo(2);
    expect(lift[2 * E + 3]).toBeCloseTo(1);
    expect(lift[0 * E + 2]).toBe(0);
    expect(lift[0]).toBe(0); // the diagonal
  });
});
