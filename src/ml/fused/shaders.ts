/**
 * WGSL of the fused InterLayer training step. Every shape is a constant of the generated code (one set of
 * pipelines per model shape and batch size); per-step values (batch rows, learning-rate terms, dropout seed)
 * come in a small uniform. Products go through one tiled kernel (64×64 output tiles, 16-deep slices of both
 * operands in workgroup memory, 4×4 outputs per thread) whose loads and epilogue each product supplies.
 *
 * Math, as in interLayerModel.ts / adamw.ts (gate order i, f, g, o):
 *   x_s = mean_k E[e_{s,k}] + Lemb[l_s], dropped out;  z_s = [x_s | 1 | h_{s-1}] · [W; b; U]
 *   c_s = σ(f)·c_{s-1} + σ(i)·tanh(g);  h_s = σ(o)·tanh(c_s);  logits = [drop(h_{C-1}) | 1] · [Wh; bh]
 *   loss = mean over (sample, horizon step, expert) of relu(z) − z·y + log1p(exp(−|z|))
 * then backpropagation through time, global-norm clipping and AdamW with decoupled decay on weight matrices.
 */
import { ID_COLS, type FusedLayout } from './layout';

/** Bindings shared by all kernels (each kernel declares only those it uses). */
export const BIND = { P: 0, WORK: 1, GRAD: 2, STEP: 3, CTX: 4, PERM: 5, CTX_EXPERTS: 6, CTX_LAYERS: 7, TARGET_LAYERS: 8, TARGETS: 9, M: 10, V: 11 } as const;

const STEP_STRUCT = /* wgsl */ `
struct Step {
  size: u32, start: u32, seed: u32, rate: f32,
  keepInv: f32, invCount: f32, stepSize: f32, epsHat: f32,
  decay: f32, clip: f32, b1: f32, b2: f32,
  wdOn: u32, pad0: u32, pad1: u32, pad2: u32,
};
struct Ctx { s: u32, pad0: u32, pad1: u32, pad2: u32 };
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
// Inverted dropout multiplier: 0 with probability rate, else 1/(1 − rate); exactly 1 when rate is 0.
fn keep(seed: u32, idx: u32) -> f32 {
  if (st.rate <= 0.0) { return 1.0; }
  let r = f32(pcg(idx ^ pcg(seed)) >> 8u) * (1.0 / 16777216.0);
  return select(0.0, st.keepInv, r >= st.rate);
}
`;

function header(l: FusedLayout, uses: { p?: 'read' | 'read_write'; grad?: boolean; ctx?: boolean; windows?: boolean; moments?: boolean }): string {
  const { p, w } = l;
  const consts = {
    B: l.B,
    C: l.C,
    K: l.K,
    D: l.D,
    U: l.U,
    G: l.G,
    L: l.L,
    E: l.E,
    H: l.H,
    NH: l.NH,
    HE: l.HE,
    R: l.R,
    IDC: ID_COLS(l.C, l.K, l.H),
    P_EE: p.EE,
    P_LE: p.LE,
    P_W: p.W,
    P_BIAS: p.BIAS,
    P_U: p.U,
    P_HK: p.HK,
    P_HB: p.HB,
    P_N: p.N,
    W_IDS: w.ids,
    W_A: w.A,
    W_ACT: w.act,
    W_CELL: w.cell,
    W_HD: w.hd,
    W_LOGITS: w.logits,
    W_DL: w.dl,
    W_DZ: w.dz,
    W_DC: w.dc,
    W_DX: w.dx,
    W_LOSS: w.loss,
    W_HITS: w.hits,
    W_PART: w.part,
    W_STATS: w.stats,
    NPART: l.nPart,
    PART_CHUNK: l.partChunk,
  };
  let s = Object.entries(consts)
    .map(([k, v]) => `const ${k}: u32 = ${v}u;`)
    .join('\n');
  s += `\nconst LSH: bool = ${l.LSH};\n`;
  s += `@group(0) @binding(${BIND.P}) var<storage, ${uses.p ?? 'read'}> P: array<f32>;\n`;
  s += `@group(0) @binding(${BIND.WORK}) var<storage, read_write> Wk: array<f32>;\n`;
  if (uses.grad) s += `@group(0) @binding(${BIND.GRAD}) var<storage, read_write> Gr: array<f32>;\n`;
  s += `@group(0) @binding(${BIND.STEP}) var<uniform> st: Step;\n`;
  if (uses.ctx) s += `@group(0) @binding(${BIND.CTX}) var<uniform> cx: Ctx;\n`;
  if (uses.windows) {
    s += `@group(0) @binding(${BIND.PERM}) var<storage, read> perm: array<u32>;\n`;
    s += `@group(0) @binding(${BIND.CTX_EXPERTS}) var<storage, read> wCtxE: array<f32>;\n`;
    s += `@group(0) @binding(${BIND.CTX_LAYERS}) var<storage, read> wCtxL: array<f32>;\n`;
    s += `@group(0) @binding(${BIND.TARGET_LAYERS}) var<storage, read> wTgtL: array<f32>;\n`;
    s += `@group(0) @binding(${BIND.TARGETS}) var<storage, read> wTgt: array<f32>;\n`;
  }
  if (uses.moments) {
    s += `@group(0) @binding(${BIND.M}) var<storage, read_write> Mo: array<f32>;\n`;
    s += `@group(0) @binding(${BIND.V}) var<storage, read_write> Vo: array<f32>;\n`;
  }
  s += STEP_STRUCT;
  s += /* wgsl */ `
fn idCE(b: u32, s: u32, k: u32) -> u32 { return u32(Wk[W_IDS + b * IDC + s * K + k]); }
fn idCL(b: u32, s: u32) -> u32 { return u32(Wk[W_IDS + b * IDC + C * K + s]); }
fn idTL(b: u32, h: u32) -> u32 { return u32(Wk[W_IDS + b * IDC + C * K + C + h]); }
fn idTG(b: u32, h: u32, k: u32) -> u32 { return u32(Wk[W_IDS + b * IDC + C * K + C + H + h * K + k]); }
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// Head column of (sample, horizon step, expert): the sample's target-layer head with layer-specific heads.
fn headCol(b: u32, h: u32, e: u32) -> u32 {
  if (LSH) { return (h * L + idTL(b, h)) * E + e; }
  return h * E + e;
}
`;
  return s;
}

interface MatmulSpec {
  /** Output rows, columns and the reduction length (WGSL u32 expressions). */
  M: string;
  N: string;
  K: string;
  /** true: A(r, k) is contiguous along k (threads load along k); false: along r. */
  aKFast: boolean;
  bKFast: boolean;
  /** WGSL expressions of A(r, k) and B(k, c); called only in bounds. */
  loadA: string;
  loadB: string;
  /** WGSL statements with r: u32 (row), c0: u32 (first of 4 columns) and v: vec4<f32> (the 4 sums). */
  epilogue: string;
}

/** A tiled product out[M, N] = A[M, K] · B[K, N] with a custom epilogue; dispatch (ceil(N/64), ceil(M/64)). */
function matmul(head: string, m: MatmulSpec): string {
  const aIdx = m.aKFast ? 'let mm = idx / 16u; let kk = idx % 16u;' : 'let mm = idx % 64u; let kk = idx / 64u;';
  const bIdx = m.bKFast ? 'let nn = idx / 16u; let kk = idx % 16u;' : 'let nn = idx % 64u; let kk = idx / 64u;';
  return /* wgsl */ `${head}
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
fn loadA(r: u32, k: u32) -> f32 { return ${m.loadA}; }
fn loadB(k: u32, c: u32) -> f32 { return ${m.loadB}; }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let MM: u32 = ${m.M};
  let NN: u32 = ${m.N};
  let KK: u32 = ${m.K};
  let rowBase = wg.y * 64u;
  let colBase = wg.x * 64u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < KK; k0 += 16u) {
    for (var t = 0u; t < 4u; t++) {
      let idx = li + 256u * t;
      ${aIdx}
      let r = rowBase + mm;
      let k = k0 + kk;
      var a = 0.0;
      if (r < MM && k < KK) { a = loadA(r, k); }
      As[kk][mm] = a;
    }
    for (var t = 0u; t < 4u; t++) {
      let idx = li + 256u * t;
      ${bIdx}
      let c = colBase + nn;
      let k = k0 + kk;
      var bv = 0.0;
      if (c < NN && k < KK) { bv = loadB(k, c); }
      Bs[kk][nn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = vec4<f32>(As[kk][lid.y * 4u], As[kk][lid.y * 4u + 1u], As[kk][lid.y * 4u + 2u], As[kk][lid.y * 4u + 3u]);
      let bv = vec4<f32>(Bs[kk][lid.x * 4u], Bs[kk][lid.x * 4u + 1u], Bs[kk][lid.x * 4u + 2u], Bs[kk][lid.x * 4u + 3u]);
      acc[0] += a.x * bv;
      acc[1] += a.y * bv;
      acc[2] += a.z * bv;
      acc[3] += a.w * bv;
    }
    workgroupBarrier();
  }
  let c0 = colBase + lid.x * 4u;
  for (var i = 0u; i < 4u; i++) {
    let r = rowBase + lid.y * 4u + i;
    if (r >= MM) { continue; }
    let v = acc[i];
    ${m.epilogue}
  }
}
`;
}

export interface KernelSource {
  name: string;
  code: string;
  /** Bindings the kernel uses. */
  binds: number[];
  /** One bind group per context step (forward and backward-through-time kernels). */
  perStep?: boolean;
}

export function kernels(l: FusedLayout): KernelSource[] {
  const base = [BIND.P, BIND.WORK, BIND.STEP];
  const out: KernelSource[] = [];

  // 1. Gather the batch's ids and embed: x[s, b] = mean of the K expert embeddings + the layer embedding, dropped out.
  out.push({
    name: 'embed',
    binds: [...base, BIND.PERM, BIND.CTX_EXPERTS, BIND.CTX_LAYERS, BIND.TARGET_LAYERS, BIND.TARGETS],
    code: /* wgsl */ `${header(l, { windows: true })}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let t = gid.x + gid.y * nw.x * 256u;
  if (t < B) {
    let b = t;
    let live = b < st.size;
    let w = select(0u, perm[st.start + b], live);
    for (var q = 0u; q < C * K; q++) { Wk[W_IDS + b * IDC + q] = select(0.0, wCtxE[w * C * K + q], live); }
    for (var q = 0u; q < C; q++) { Wk[W_IDS + b * IDC + C * K + q] = select(0.0, wCtxL[w * C + q], live); }
    for (var q = 0u; q < H; q++) { Wk[W_IDS + b * IDC + C * K + C + q] = select(0.0, wTgtL[w * H + q], live); }
    for (var q = 0u; q < H * K; q++) { Wk[W_IDS + b * IDC + C * K + C + H + q] = select(0.0, wTgt[w * H * K + q], live); }
  }
  if (t >= C * B * D) { return; }
  let s = t / (B * D);
  let b = (t / D) % B;
  let j = t % D;
  let row = s * B + b;
  if (b >= st.size) { Wk[W_A + row * R + j] = 0.0; return; }
  let w = perm[st.start + b];
  var sum = 0.0;
  for (var k = 0u; k < K; k++) { sum += P[P_EE + u32(wCtxE[(w * C + s) * K + k]) * D + j]; }
  let x = sum / f32(K) + P[P_LE + u32(wCtxL[w * C + s]) * D + j];
  Wk[W_A + row * R + j] = x * keep(st.seed, row * D + j);
}
`,
  });

  // 2. One context step forward: gates = [x | 1 | h_prev] · [W; b; U], then the cell. Virtual column 4j + q is gate q
  //    of unit j, so each thread's 4 columns are the 4 gates of one unit and the cell update happens in the epilogue.
  out.push({
    name: 'forward',
    perStep: true,
    binds: [...base, BIND.CTX],
    code: matmul(header(l, { ctx: true }), {
      M: 'B',
      N: 'G',
      K: 'D + 1u + U',
      aKFast: true,
      bKFast: false,
      loadA: `select(select(Wk[W_A + (cx.s * B + r) * R + k - 1u], 1.0, k == D), Wk[W_A + (cx.s * B + r) * R + k], k < D)`,
      loadB: `P[P_W + k * G + (c % 4u) * U + c / 4u]`,
      epilogue: /* wgsl */ `
    let j = c0 / 4u;
    if (j < U) {
      let s = cx.s;
      let row = s * B + r;
      let ig = sigm(v.x);
      let fg = sigm(v.y);
      let gg = tanh(v.z);
      let og = sigm(v.w);
      var cPrev = 0.0;
      if (s > 0u) { cPrev = Wk[W_CELL + (row - B) * U + j]; }
      let cell = fg * cPrev + ig * gg;
      let h = og * tanh(cell);
      Wk[W_ACT + row * G + j] = ig;
      Wk[W_ACT + row * G + U + j] = fg;
      Wk[W_ACT + row * G + 2u * U + j] = gg;
      Wk[W_ACT + row * G + 3u * U + j] = og;
      Wk[W_CELL + row * U + j] = cell;
      if (s + 1u < C) {
        Wk[W_A + (row + B) * R + D + j] = h;
      } else {
        Wk[W_HD + r * U + j] = h * keep(st.seed + 1u, r * U + j);
      }
    }`,
    }),
  });

  // 3. Every head's logits: [drop(h) | 1] · [Wh; bh].
  out.push({
    name: 'logits',
    binds: base,
    code: matmul(header(l, {}), {
      M: 'B',
      N: 'NH',
      K: 'U + 1u',
      aKFast: true,
      bKFast: false,
      loadA: `select(1.0, Wk[W_HD + r * U + k], k < U)`,
      loadB: `P[P_HK + k * NH + c]`,
      epilogue: /* wgsl */ `
    for (var q = 0u; q < 4u; q++) { if (c0 + q < NN) { Wk[W_LOGITS + r * NH + c0 + q] = v[q]; } }`,
    }),
  });

  // 4. Loss terms, d loss / d logits and recall hits, one thread per (sample, horizon step, expert).
  out.push({
    name: 'loss',
    binds: base,
    code: /* wgsl */ `${header(l, {})}
fn log1pf(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  if (t >= B * HE) { return; }
  let b = t / HE;
  let h = (t / E) % H;
  let e = t % E;
  if (b >= st.size) {
    Wk[W_DL + t] = 0.0;
    Wk[W_LOSS + t] = 0.0;
    Wk[W_HITS + t] = 0.0;
    return;
  }
  let z = Wk[W_LOGITS + b * NH + headCol(b, h, e)];
  var y = 0.0;
  for (var k = 0u; k < K; k++) { if (idTG(b, h, k) == e) { y += 1.0; } }
  // In the top k exactly when fewer than k logits are larger (ties at the k-th count, as in recallHits).
  var above = 0u;
  for (var q = 0u; q < E; q++) { if (Wk[W_LOGITS + b * NH + headCol(b, h, q)] > z) { above++; } }
  let picked = select(0.0, 1.0, above < K);
  Wk[W_LOSS + t] = max(z, 0.0) - z * y + log1pf(exp(-abs(z)));
  Wk[W_DL + t] = (sigm(z) - y) * st.invCount;
  Wk[W_HITS + t] = picked * y;
}
`,
  });

  // 5. One context step backward: dh = (last step) head gradient · Wh^T, else dz_{s+1} · U^T; then the cell's
  //    gradients to dz_s and the cell gradient carried to step s−1.
  out.push({
    name: 'backward',
    perStep: true,
    binds: [...base, BIND.CTX],
    code: matmul(header(l, { ctx: true }), {
      M: 'B',
      N: 'U',
      K: 'select(G, 0u, cx.s + 1u == C)',
      aKFast: true,
      bKFast: true,
      loadA: `Wk[W_DZ + ((cx.s + 1u) * B + r) * G + k]`,
      loadB: `P[P_U + c * G + k]`,
      epilogue: /* wgsl */ `
    let s = cx.s;
    let row = s * B + r;
    let last = s + 1u == C;
    for (var q = 0u; q < 4u; q++) {
      let j = c0 + q;
      if (j >= U) { continue; }
      var dh = v[q];
      if (last) {
        dh = 0.0;
        for (var t = 0u; t < HE; t++) { dh += Wk[W_DL + r * HE + t] * P[P_HK + j * NH + headCol(r, t / E, t % E)]; }
        dh *= keep(st.seed + 1u, r * U + j);
      }
      let ig = Wk[W_ACT + row * G + j];
      let fg = Wk[W_ACT + row * G + U + j];
      let gg = Wk[W_ACT + row * G + 2u * U + j];
      let og = Wk[W_ACT + row * G + 3u * U + j];
      let tc = tanh(Wk[W_CELL + row * U + j]);
      var cPrev = 0.0;
      if (s > 0u) { cPrev = Wk[W_CELL + (row - B) * U + j]; }
      var dcNext = 0.0;
      if (!last) { dcNext = Wk[W_DC + r * U + j]; }
      let dc = dh * og * (1.0 - tc * tc) + dcNext;
      Wk[W_DZ + row * G + j] = dc * gg * ig * (1.0 - ig);
      Wk[W_DZ + row * G + U + j] = dc * cPrev * fg * (1.0 - fg);
      Wk[W_DZ + row * G + 2u * U + j] = dc * ig * (1.0 - gg * gg);
      Wk[W_DZ + row * G + 3u * U + j] = dh * tc * og * (1.0 - og);
      Wk[W_DC + r * U + j] = dc * fg;
    }`,
    }),
  });

  // 6. Head gradient: [drop(h) | 1]^T · dlogits, each sample's gradient in its target-layer head's columns.
  out.push({
    name: 'headGrad',
    binds: [...base, BIND.GRAD],
    code: matmul(header(l, { grad: true }), {
      M: 'U + 1u',
      N: 'NH',
      K: 'B',
      aKFast: false,
      bKFast: false,
      loadA: `select(1.0, Wk[W_HD + k * U + r], r < U)`,
      loadB: l.LSH ? `select(0.0, Wk[W_DL + k * HE + (c / (L * E)) * E + c % E], idTL(k, c / (L * E)) == (c / E) % L)` : `Wk[W_DL + k * HE + c]`,
      epilogue: /* wgsl */ `
    for (var q = 0u; q < 4u; q++) { if (c0 + q < NN) { Gr[P_HK + r * NH + c0 + q] = v[q]; } }`,
    }),
  });

  // 7. LSTM weight gradient: [x | 1 | h_prev]^T · dz over all steps and samples → [dW; db; dU].
  out.push({
    name: 'lstmGrad',
    binds: [...base, BIND.GRAD],
    code: matmul(header(l, { grad: true }), {
      M: 'D + 1u + U',
      N: 'G',
      K: 'C * B',
      aKFast: false,
      bKFast: false,
      loadA: `select(select(Wk[W_A + k * R + r - 1u], 1.0, r == D), Wk[W_A + k * R + r], r < D)`,
      loadB: `Wk[W_DZ + k * G + c]`,
      epilogue: /* wgsl */ `
    for (var q = 0u; q < 4u; q++) { if (c0 + q < NN) { Gr[P_W + r * G + c0 + q] = v[q]; } }`,
    }),
  });

  // 8. Input gradient: dx = dz · W^T.
  out.push({
    name: 'inputGrad',
    binds: base,
    code: matmul(header(l, {}), {
      M: 'C * B',
      N: 'D',
      K: 'G',
      aKFast: true,
      bKFast: true,
      loadA: `Wk[W_DZ + r * G + k]`,
      loadB: `P[P_W + c * G + k]`,
      epilogue: /* wgsl */ `
    for (var q = 0u; q < 4u; q++) { if (c0 + q < NN) { Wk[W_DX + r * D + c0 + q] = v[q]; } }`,
    }),
  });

  // 9. Embedding gradients: one workgroup per table row and 32 columns; 8 lanes split the (step, sample, k) positions.
  out.push({
    name: 'embedGrad',
    binds: [...base, BIND.GRAD],
    code: /* wgsl */ `${header(l, { grad: true })}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let col = li % 32u;
  let lane = li / 32u;
  let j = wg.y * 32u + col;
  let rowId = wg.x;
  var acc = 0.0;
  if (j < D) {
    if (rowId < E) {
      for (var p = lane; p < C * B * K; p += 8u) {
        let s = p / (B * K);
        let b = (p / K) % B;
        if (b < st.size && idCE(b, s, p % K) == rowId) {
          let row = s * B + b;
          acc += Wk[W_DX + row * D + j] * keep(st.seed, row * D + j);
        }
      }
    } else {
      for (var p = lane; p < C * B; p += 8u) {
        let s = p / B;
        let b = p % B;
        if (b < st.size && idCL(b, s) == rowId - E) {
          acc += Wk[W_DX + p * D + j] * keep(st.seed, p * D + j);
        }
      }
    }
  }
  red[li] = acc;
  workgroupBarrier();
  for (var off = 4u; off > 0u; off /= 2u) {
    if (lane < off) { red[li] += red[li + off * 32u]; }
    workgroupBarrier();
  }
  if (lane == 0u && j < D) {
    if (rowId < E) { Gr[P_EE + rowId * D + j] = red[li] / f32(K); } else { Gr[P_LE + (rowId - E) * D + j] = red[li]; }
  }
}
`,
  });

  // 10. Squared-gradient partial sums (workgroups 0..NPART-1) and, in the last workgroup, the step's loss and
  //     recall hits added to the epoch's running sums.
  out.push({
    name: 'norm',
    binds: [...base, BIND.GRAD],
    code: /* wgsl */ `${header(l, { grad: true })}
var<workgroup> red: array<f32, ${256 * (1 + l.H)}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  if (wg.x < NPART) {
    var acc = 0.0;
    for (var q = 0u; q < PART_CHUNK / 256u; q++) {
      let i = wg.x * PART_CHUNK + q * 256u + li;
      if (i < P_N) { let g = Gr[i]; acc += g * g; }
    }
    red[li] = acc;
    workgroupBarrier();
    for (var off = 128u; off > 0u; off /= 2u) {
      if (li < off) { red[li] += red[li + off]; }
      workgroupBarrier();
    }
    if (li == 0u) { Wk[W_PART + wg.x] = red[0]; }
    return;
  }
  var loss = 0.0;
  var hits: array<f32, ${l.H}>;
  for (var t = li; t < B * HE; t += 256u) {
    loss += Wk[W_LOSS + t];
    hits[(t / E) % H] += Wk[W_HITS + t];
  }
  red[li] = loss;
  for (var h = 0u; h < H; h++) { red[(h + 1u) * 256u + li] = hits[h]; }
  workgroupBarrier();
  for (var off = 128u; off > 0u; off /= 2u) {
    if (li < off) {
      for (var q = 0u; q <= H; q++) { red[q * 256u + li] += red[q * 256u + li + off]; }
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    // Mean loss of the batch × its samples, as TrainingSession sums it; hits over K, as recallHits.
    Wk[W_STATS] += red[0] / f32(HE);
    for (var h = 0u; h < H; h++) { Wk[W_STATS + 1u + h] += red[(h + 1u) * 256u] / f32(K); }
  }
}
`,
  });

  // 11. Global-norm clipping and the AdamW update.
  out.push({
    name: 'adamw',
    binds: [BIND.P, BIND.WORK, BIND.STEP, BIND.GRAD, BIND.M, BIND.V],
    code: /* wgsl */ `${header(l, { p: 'read_write', grad: true, moments: true })}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nw: vec3<u32>) {
  var acc = 0.0;
  for (var q = li; q < NPART; q += 256u) { acc += Wk[W_PART + q]; }
  red[li] = acc;
  workgroupBarrier();
  for (var off = 128u; off > 0u; off /= 2u) {
    if (li < off) { red[li] += red[li + off]; }
    workgroupBarrier();
  }
  var scale = 1.0;
  if (st.clip > 0.0) { scale = min(1.0, st.clip / (sqrt(red[0]) + 1e-6)); }
  let i = gid.x + gid.y * nw.x * 256u;
  if (i >= P_N) { return; }
  let g = Gr[i] * scale;
  let m = Mo[i] * st.b1 + g * (1.0 - st.b1);
  let v = Vo[i] * st.b2 + (g * g) * (1.0 - st.b2);
  Mo[i] = m;
  Vo[i] = v;
  var p = P[i];
  let decayed = (i >= P_W && i < P_BIAS) || (i >= P_U && i < P_HB);
  if (decayed && st.wdOn != 0u) { p = p * st.decay; }
  P[i] = p - st.stepSize * (m / (sqrt(v) + st.epsHat));
}
`,
  });
  return out;
}
