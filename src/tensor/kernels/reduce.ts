/**
 * Reductions along one axis of a row-major array, seen as [outer, len, inner]: the reduced axis has
 * length `len` and stride `inner`. With inner = 1 (the last axis, the common case) the loops run over
 * contiguous memory.
 */

/** out[o, j] = scale * sum_k x[o, k, j] */
export function sumAxis(
  x: Float32Array,
  outer: number,
  len: number,
  inner: number,
  scale: number,
  out: Float32Array,
): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let acc = 0;
      const base = o * len;
      for (let k = 0; k < len; k++) acc += x[base + k]!;
      out[o] = acc * scale;
    }
    return;
  }
  out.fill(0, 0, outer * inner);
  for (let o = 0; o < outer; o++) {
    const ob = o * inner;
    for (let k = 0; k < len; k++) {
      const xb = (o * len + k) * inner;
      for (let j = 0; j < inner; j++) out[ob + j]! += x[xb + j]!;
    }
    if (scale !== 1) for (let j = 0; j < inner; j++) out[ob + j]! *= scale;
  }
}

/** gx[o, k, j] += scale * g[o, j]: the gradient of `sumAxis`. */
export function sumAxisBackward(
  g: Float32Array,
  outer: number,
  len: number,
  inner: number,
  scale: number,
  gx: Float32Array,
): void {
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < len; k++) {
      const xb = (o * len + k) * inner;
      const gb = o * inner;
      for (let j = 0; j < inner; j++) gx[xb + j]! += scale * g[gb + j]!;
    }
  }
}

/** out[o, j] = max_k x[o, k, j]; argmax gets the first k that attains it. */
export function maxAxis(
  x: Float32Array,
  outer: number,
  len: number,
  inner: number,
  out: Float32Array,
  argmax: Int32Array,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = Number.NEGATIVE_INFINITY;
      let bestK = 0;
      for (let k = 0; k < len; k++) {
        const v = x[(o * len + k) * inner + j]!;
        if (v > best || Number.isNaN(v)) {
          best = v;
          bestK = k;
          if (Number.isNaN(v)) break;
        }
      }
      out[o * inner + j] = best;
      argmax[o * inner + j] = bestK;
    }
  }
}

/**
 * Softmax (or log-softmax) along the axis, shifted by the maximum so exp never overflows:
 * log softmax(x)_k = x_k - max - log sum exp(x - max).
 */
export function softmaxAxis(
  x: Float32Array,
  outer: number,
  len: number,
  inner: number,
  out: Float32Array,
  log: boolean,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      let m = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < len; k++) m = Math.max(m, x[base + k * inner]!);
      let total = 0;
      for (let k = 0; k < len; k++) total += Math.exp(x[base + k * inner]! - m);
      if (log) {
        const logTotal = Math.log(total) + m;
        for (let k = 0; k < len; k++) out[base + k * inner] = x[base + k * inner]! - logTotal;
      } else {
        const inv = 1 / total;
        for (let k = 0; k < len; k++) out[base + k * inner] = Math.exp(x[base + k * inner]! - m) * inv;
      }
    }
  }
}

/**
 * Gradient of softmax given its output y: gx = y * (g - sum(g * y)); of log-softmax given its output y:
 * gx = g - exp(y) * sum(g).
 */
export function softmaxAxisBackward(
  g: Float32Array,
  y: Float32Array,
  outer: number,
  len: number,
  inner: number,
  gx: Float32Array,
  log: boolean,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      let dot = 0;
      for (let k = 0; k < len; k++) {
        const idx = base + k * inner;
        dot += log ? g[idx]! : g[idx]! * y[idx]!;
      }
      for (let k = 0; k < len; k++) {
        const idx = base + k * inner;
        gx[idx]! += log ? g[idx]! - Math.exp(y[idx]!) * dot : y[idx]! * (g[idx]! - dot);
      }
    }
  }
}

/** dst[j] += sum_r src[r, j] over a rows x cols matrix: a bias gradient. */
export function columnSumJs(rows: number, cols: number, src: Float32Array, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) dst[j]! += src[base + j]!;
  }
}
