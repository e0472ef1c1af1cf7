/**
 * Indices of the `m` highest scores, best first; ties go to the lower expert id so rankings are
 * deterministic. Linear in scores.length for the small m used here.
 */
export function topIndices(scores: ArrayLike<number>, m: number, out: Int32Array = new Int32Array(m)): Int32Array {
  const n = scores.length;
  let filled = 0;
  for (let e = 0; e < n; e++) {
    const s = scores[e];
    if (filled === m && s <= scores[out[m - 1]]) continue;
    let i = filled < m ? filled++ : m - 1;
    while (i > 0 && scores[out[i - 1]] < s) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = e;
  }
  return out;
}
