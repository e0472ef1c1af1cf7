import { describe, expect, it } from 'vitest';
import type { PredictorResult } from '../../core/predictors/evaluate';
import { distanceChartData } from './lookaheadCurve';

const result = (kind: 'baseline' | 'learned', recallAtK: number[]): PredictorResult => ({
  kind,
  recallAtK,
  exact: recallAtK,
  top1: recallAtK,
  top3: recallAtK,
  top5: recallAtK,
  coverage: recallAtK.map(() => []),
  samples: 10,
});

describe('the lookahead curve chart', () => {
  const rows: [string, PredictorResult][] = [
    ['sequence', result('learned', [0.7])],
    ['frequency', result('baseline', [0.5])],
    ['markov', result('baseline', [0.6])],
    ['lookahead', result('baseline', [0.8])],
  ];
  const curve = { distance: [1, 2, 3], recallAtK: [0.82, 0.7, 0.6], exact: [0, 0, 0], top1: [0, 0, 0], samples: 5 };

  it('draws the gate over its own horizon beside the learned model and the best other baseline', () => {
    const d = distanceChartData(rows, curve, (n) => (n === 'sequence' ? 'Sequence' : n))!;
    expect(d.x).toEqual(['l+1', 'l+2', 'l+3']);
    expect(d.series.map((s) => [s.name, s.values, s.className, s.dashed ?? false])).toEqual([
      ['lookahead gate', [0.82, 0.7, 0.6], 's2', false],
      ['Sequence', [0.7, null, null], 's1', false],
      ['markov (best other baseline)', [0.6, null, null], 's1', true],
    ]);
  });

  it('uses the gate’s row without a curve (a reopened kept run), and is absent without the gate', () => {
    const d = distanceChartData(rows, undefined, (n) => n)!;
    expect(d.x).toEqual(['l+1']);
    expect(d.series[0].values).toEqual([0.8]);
    expect(
      distanceChartData(
        rows.filter(([n]) => n !== 'lookahead'),
        curve,
        (n) => n,
      ),
    ).toBeNull();
  });
});
