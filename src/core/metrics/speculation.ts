import { CoverageCurve, topKShare } from './confidence';
import { topIndices } from './ranking';

/** The N of the top-N hit rates: is the true first choice among the N best-scored experts. */
export const TOP_N = [1, 3, 5] as const;

/** Accuracy of one horizon step, accumulated over samples. */
export class StepMetrics {
  samples = 0;
  private recallSum = 0;
  private exactSum = 0;
  private readonly topHits = new Float64Array(TOP_N.length);
  private readonly ranked: Int32Array;
  /** Coverage and precision when speculating only above a confidence threshold. */
  readonly coverage = new CoverageCurve();
  private readonly m: number;

  constructor(
    private readonly numExperts: number,
    private readonly topK: number,
  ) {
    this.m = Math.min(numExperts, Math.max(topK, ...TOP_N));
    this.ranked = new Int32Array(this.m);
  }

  /** `truth` holds the true top-k at [offset, offset+K), first choice first. */
  add(scores: Float64Array, truth: Int16Array, offset: number): void {
    const K = this.topK;
    const ranked = topIndices(scores, this.m, this.ranked);
    let hit = 0;
    for (let j = 0; j < K; j++) {
      const p = ranked[j];
      for (let q = 0; q < K; q++)
        if (truth[offset + q] === p) {
          hit++;
          break;
        }
    }
    this.recallSum += hit / K;
    this.coverage.add(topKShare(scores, ranked, K), hit / K);
    if (hit === K) this.exactSum++;
    const first = truth[offset];
    TOP_N.forEach((n, i) => {
      const upto = Math.min(n, this.m);
      for (let r = 0; r < upto; r++)
        if (ranked[r] === first) {
          this.topHits[i]++;
          break;
        }
    });
    this.samples++;
  }

  result() {
    const s = this.samples || 1;
    return {
      recallAtK: this.recallSum / s,
      exact: this.exactSum / s,
      top1: this.topHits[0] / s,
      top3: this.topHits[1] / s,
      top5: this.topHits[2] / s,
      coverage: this.coverage.points(),
    };
  }
}
