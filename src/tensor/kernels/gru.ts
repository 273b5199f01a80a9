/**
 * Gated recurrent unit kernels (Cho et al. 2014), in PyTorch's formulation and gate order (r, z, n):
 *
 *   r  = σ(a_r + b_r),  z = σ(a_z + b_z),  n = tanh(a_n + r ⊙ b_n),  h' = (1 - z) ⊙ n + z ⊙ h
 *
 * where a = x·W_ih + b_ih and b = h·W_hh + b_hh are the input and hidden projections, [rows, 3H] each with
 * the gates side by side. `gruGatesJs` is one step's gate arithmetic and its gradient (the JS reference,
 * and every kernel set's default); `GruSequenceKernel` is a whole layer over a sequence, projections
 * included, for kernel sets that can keep it inside one call (the WebAssembly set).
 */
import { fastTanh } from './elementwise.ts';

export interface GruGatesKernel {
  /**
   * One step: from a [rows, 3H], b [rows, 3H] and the previous state h [rows, H], the next state `out`
   * [rows, H]; `gates` [rows, 3H] receives r, z and n for the backward pass.
   */
  forward(
    rows: number,
    hidden: number,
    a: Float32Array,
    b: Float32Array,
    h: Float32Array,
    out: Float32Array,
    gates: Float32Array,
  ): void;
  /**
   * From the gradient g of the next state, adds the gradients of a (da), b (db) and h (dh), each only where
   * given; reads h, the forward's gates and b's n-part.
   */
  backward(
    rows: number,
    hidden: number,
    g: Float32Array,
    h: Float32Array,
    gates: Float32Array,
    b: Float32Array,
    da: Float32Array | null,
    db: Float32Array | null,
    dh: Float32Array | null,
  ): void;
}

export const gruGatesJs: GruGatesKernel = {
  forward(rows, hidden, a, b, h, out, gates) {
    for (let i = 0; i < rows; i++) {
      const g3 = i * 3 * hidden;
      const g1 = i * hidden;
      for (let j = 0; j < hidden; j++) {
        // σ(u) = ½(1 + tanh(u/2)), so all three gates use the inlined float32 tanh.
        const r = 0.5 + 0.5 * fastTanh(0.5 * (a[g3 + j]! + b[g3 + j]!));
        const z = 0.5 + 0.5 * fastTanh(0.5 * (a[g3 + hidden + j]! + b[g3 + hidden + j]!));
        const n = fastTanh(a[g3 + 2 * hidden + j]! + r * b[g3 + 2 * hidden + j]!);
        gates[g3 + j] = r;
        gates[g3 + hidden + j] = z;
        gates[g3 + 2 * hidden + j] = n;
        out[g1 + j] = (1 - z) * n + z * h[g1 + j]!;
      }
    }
  },

  backward(rows, hidden, g, h, gates, b, da, db, dh) {
    for (let i = 0; i < rows; i++) {
      const g3 = i * 3 * hidden;
      const g1 = i * hidden;
      for (let j = 0; j < hidden; j++) {
        const r = gates[g3 + j]!;
        const z = gates[g3 + hidden + j]!;
        const n = gates[g3 + 2 * hidden + j]!;
        const d = g[g1 + j]!;
        // h' = (1 - z) n + z h
        const dn = d * (1 - z);
        const dz = d * (h[g1 + j]! - n);
        if (dh) dh[g1 + j]! += d * z;
        // n = tanh(a_n + r b_n)
        const dan = dn * (1 - n * n);
        const dr = dan * b[g3 + 2 * hidden + j]!;
        // z = σ(a_z + b_z), r = σ(a_r + b_r)
        const dzPre = dz * z * (1 - z);
        const drPre = dr * r * (1 - r);
        if (da) {
          da[g3 + j]! += drPre;
          da[g3 + hidden + j]! += dzPre;
          da[g3 + 2 * hidden + j]! += dan;
        }
        if (db) {
          db[g3 + j]! += drPre;
          db[g3 + hidden + j]! += dzPre;
          db[g3 + 2 * hidden + j]! += dan * r;
        }
      }
    }
  },
};

/**
 * A GRU layer over a time-major sequence in one call each way: x [T, N, in], h0 [N, H], W_ih [in, 3H],
 * b_ih [3H], W_hh [H, 3H], b_hh [3H]; `out` [T, N, H] receives every step's state. For the backward pass the
 * forward keeps `gates` [T, N, 3H] (r, z, n) and `bn` [T, N, H] (the hidden projection's n-part), both null
 * when no gradient is wanted.
 */
export interface GruSequenceKernel {
  /** Whether the kernel takes these sizes (else the caller runs the layer step by step). */
  supports(inF: number, hidden: number): boolean;
  forward(
    steps: number,
    rows: number,
    inF: number,
    hidden: number,
    x: Float32Array,
    h0: Float32Array,
    wIh: Float32Array,
    bIh: Float32Array,
    wHh: Float32Array,
    bHh: Float32Array,
    out: Float32Array,
    gates: Float32Array | null,
    bn: Float32Array | null,
  ): void;
  /**
   * From gOut, the gradient of `out`, adds the gradients of x, h0, W_ih, b_ih, W_hh and b_hh into dx, dh0,
   * dwIh, dbIh, dwHh and dbHh, each only where given.
   */
  backward(
    steps: number,
    rows: number,
    inF: number,
    hidden: number,
    gOut: Float32Array,
    x: Float32Array,
    h0: Float32Array,
    out: Float32Array,
    gates: Float32Array,
    bn: Float32Array,
    wIh: Float32Array,
    wHh: Float32Array,
    dx: Float32Array | null,
    dh0: Float32Array | null,
    dwIh: Float32Array | null,
    dbIh: Float32Array | null,
    dwHh: Float32Array | null,
    dbHh: Float32Array | null,
  ): void;
}
