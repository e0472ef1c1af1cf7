/**
 * Confidence filtering: speculate only when the predictor is confident. For each threshold, coverage is the
 * share of samples at or above it and precision the mean recall@k over those samples.
 */
export interface CoveragePoint {
  threshold: number;
  coverage: number;
  precision: number;
}

export const THRESHOLDS = Array.from({ length: 21 }, (_, i) => i / 20);

/** Accumulates (confidence, recall) samples into fixed threshold bins; memory does not grow with samples. */
export class CoverageCurve {
  private readonly count = new Float64Array(THRESHOLDS.length);
  private readonly recall = new Float64Array(THRESHOLDS.length);
  private total = 0;

  add(confidence: number, recall: number): void {
    this.total++;
    // Every threshold ≤ confidence covers this sample.
    const top = Math.min(THRESHOLDS.length - 1, Math.floor(Math.max(0, confidence) * 20 + 1e-9));
    for (let i = 0; i <= top; i++) {
      this.count[i]++;
      this.recall[i] += recall;
    }
  }

  points(): CoveragePoint[] {
    return THRESHOLDS.map((threshold, i) => ({
      threshold,
      coverage: this.total ? this.count[i] / this.total : 0,
      precision: this.count[i] ? this.recall[i] / this.count[i] : 0,
    }));
  }
}

/**
 * A predictor-agnostic confidence from scores: the share of the (non-negative) score mass held by the
 * top-k experts. Learned models that output probabilities can use their own.
 */
export function topKShare(scores: ArrayLike<number>, ranked: ArrayLike<number>, k: number): number {
  let total = 0;
  for (let e = 0; e < scores.length; e++) total += Math.max(0, scores[e]);
  if (total <= 0) return 0;
  let top = 0;
  for (let j = 0; j < k; j++) top += Math.max(0, scores[ranked[j]]);
  return top / total;
}
