/**
 * General matrix multiply on row-major Float32Arrays, in plain JavaScript: C (+)= op(A) · op(B), where
 * op(X) is X or Xᵀ. The transposed forms are what a backward pass needs (dA = dC·Bᵀ, dB = Aᵀ·dC); they are
 * read through strides, so no transposed copy is ever made.
 *
 * The kernel is register-blocked: each 4x4 tile of C lives in 16 local variables (which V8 keeps in
 * registers) while the shared dimension is swept once, so every element loaded from A or B feeds four
 * multiply-adds. Edge rows and columns fall back to 1x4, 4x1 and 1x1 tiles.
 */
export type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  c: Float32Array,
  cOffset: number,
  accumulate: boolean,
) => void;

export const gemmJs: Gemm = (transA, transB, m, n, k, a, aOffset, b, bOffset, c, cOffset, accumulate) => {
  // A(i, p) = a[aOffset + i*aRow + p*aCol]; B(p, j) = b[bOffset + p*bRow + j*bCol].
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  const bRow = transB ? 1 : n;
  const bCol = transB ? k : 1;
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  const aRow2 = 2 * aRow;
  const aRow3 = 3 * aRow;
  const bCol2 = 2 * bCol;
  const bCol3 = 3 * bCol;

  for (let i = 0; i < m4; i += 4) {
    const aBase = aOffset + i * aRow;
    const cRow0 = cOffset + i * n;
    const cRow1 = cRow0 + n;
    const cRow2 = cRow1 + n;
    const cRow3 = cRow2 + n;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let pa = aBase;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        const a0 = a[pa]!;
        const a1 = a[pa + aRow]!;
        const a2 = a[pa + aRow2]!;
        const a3 = a[pa + aRow3]!;
        const b0 = b[pb]!;
        const b1 = b[pb + bCol]!;
        const b2 = b[pb + bCol2]!;
        const b3 = b[pb + bCol3]!;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
        pa += aCol;
        pb += bRow;
      }
      if (accumulate) {
        c[cRow0 + j]! += c00;
        c[cRow0 + j + 1]! += c01;
        c[cRow0 + j + 2]! += c02;
        c[cRow0 + j + 3]! += c03;
        c[cRow1 + j]! += c10;
        c[cRow1 + j + 1]! += c11;
        c[cRow1 + j + 2]! += c12;
        c[cRow1 + j + 3]! += c13;
        c[cRow2 + j]! += c20;
        c[cRow2 + j + 1]! += c21;
        c[cRow2 + j + 2]! += c22;
        c[cRow2 + j + 3]! += c23;
        c[cRow3 + j]! += c30;
        c[cRow3 + j + 1]! += c31;
        c[cRow3 + j + 2]! += c32;
        c[cRow3 + j + 3]! += c33;
      } else {
        c[cRow0 + j] = c00;
        c[cRow0 + j + 1] = c01;
        c[cRow0 + j + 2] = c02;
        c[cRow0 + j + 3] = c03;
        c[cRow1 + j] = c10;
        c[cRow1 + j + 1] = c11;
        c[cRow1 + j + 2] = c12;
        c[cRow1 + j + 3] = c13;
        c[cRow2 + j] = c20;
        c[cRow2 + j + 1] = c21;
        c[cRow2 + j + 2] = c22;
        c[cRow2 + j + 3] = c23;
        c[cRow3 + j] = c30;
        c[cRow3 + j + 1] = c31;
        c[cRow3 + j + 2] = c32;
        c[cRow3 + j + 3] = c33;
      }
    }
    // Right edge: 4 rows by 1 column.
    for (let j = n4; j < n; j++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let pa = aBase;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        const bv = b[pb]!;
        c0 += a[pa]! * bv;
        c1 += a[pa + aRow]! * bv;
        c2 += a[pa + aRow2]! * bv;
        c3 += a[pa + aRow3]! * bv;
        pa += aCol;
        pb += bRow;
      }
      if (accumulate) {
        c[cRow0 + j]! += c0;
        c[cRow1 + j]! += c1;
        c[cRow2 + j]! += c2;
        c[cRow3 + j]! += c3;
      } else {
        c[cRow0 + j] = c0;
        c[cRow1 + j] = c1;
        c[cRow2 + j] = c2;
        c[cRow3 + j] = c3;
      }
    }
  }
  // Bottom edge: 1 row by 4 columns, then 1 by 1.
  for (let i = m4; i < m; i++) {
    const aBase = aOffset + i * aRow;
    const cRow = cOffset + i * n;
    for (let j = 0; j < n4; j += 4) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      let pa = aBase;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        const av = a[pa]!;
        c0 += av * b[pb]!;
        c1 += av * b[pb + bCol]!;
        c2 += av * b[pb + bCol2]!;
        c3 += av * b[pb + bCol3]!;
        pa += aCol;
        pb += bRow;
      }
      if (accumulate) {
        c[cRow + j]! += c0;
        c[cRow + j + 1]! += c1;
        c[cRow + j + 2]! += c2;
        c[cRow + j + 3]! += c3;
      } else {
        c[cRow + j] = c0;
        c[cRow + j + 1] = c1;
        c[cRow + j + 2] = c2;
        c[cRow + j + 3] = c3;
      }
    }
    for (let j = n4; j < n; j++) {
      let acc = 0;
      let pa = aBase;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        acc += a[pa]! * b[pb]!;
        pa += aCol;
        pb += bRow;
      }
      c[cRow + j] = accumulate ? c[cRow + j]! + acc : acc;
    }
  }
};

/**
 * `batch` independent products C_i (+)= op(A_i)·op(B_i), where operand X_i starts at xOffset + i·xStride
 * (a stride of 0 shares one matrix across the batch).
 */
export type GemmBatched = (
  batch: number,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOffset: number,
  aStride: number,
  b: Float32Array,
  bOffset: number,
  bStride: number,
  c: Float32Array,
  cOffset: number,
  cStride: number,
  accumulate: boolean,
) => void;

export const gemmBatchedJs: GemmBatched = (
  batch,
  tA,
  tB,
  m,
  n,
  k,
  a,
  aOff,
  aS,
  b,
  bOff,
  bS,
  c,
  cOff,
  cS,
  acc,
) => {
  for (let i = 0; i < batch; i++)
    gemmJs(tA, tB, m, n, k, a, aOff + i * aS, b, bOff + i * bS, c, cOff + i * cS, acc);
};
