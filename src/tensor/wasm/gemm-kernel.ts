/**
 * The matrix-multiply kernels, emitted as WebAssembly SIMD128. GEMM in the classic Goto/BLIS layout
 * (Goto & van de Geijn 2008, "Anatomy of high-performance matrix multiplication", §4): both operands are
 * first packed into panels, which is also where transposes and edges are dealt with, then a 4x8 micro-kernel
 * keeps a 4-row by 8-column tile of C in eight f32x4 registers while it sweeps the shared dimension. Each
 * step loads two vectors of B and four broadcast scalars of A for 32 multiply-adds.
 *
 * - pack_a: A (m x k, element (i,p) at a + 4*(i*rs + p*cs)) -> ceil(m/4) panels of k x 4 floats; row-major
 *   A goes through 4x4 in-register transposes, stored Aᵀ is copied a vector at a time.
 * - pack_b: B (k x n, element (p,j) at b + 4*(p*rs + j*cs)) -> ceil(n/8) panels of k x 8 floats;
 *   row-major B is copied two vectors a row, stored Bᵀ (a weight in dX = dZ·Wᵀ) goes through 4x4
 *   in-register transposes (5x faster than one float at a time).
 *   Rows or columns past the edge are packed as zeros, so the micro-kernel never branches on shape.
 * - gemm: for each batch entry, C (+)= A·B with C dense row-major m x n. The shared dimension goes in
 *   equal blocks of at most K_BLOCK (blocks after the first accumulate), rows in blocks whose packed A fits
 *   in L2; a right-edge panel with 1-4 live columns (n = 4, 9, 18, 36, ...) runs over groups of 2-6 A tiles
 *   with each accumulator holding 4 rows of one column (every lane live, 6-8 accumulators in flight: 1.1-1.4x
 *   faster over the whole product at n = 4, 9, 18 than the half-width 4x8 sweep, which the tiles left over
 *   still run); only the valid part of an edge tile is written back (through a 32-float scratch tile). A bias vector (one per batch entry, biasBs
 *   apart) joins the first block's tiles in the epilogue. b = 0 says B is already packed at pb (a caller
 *   reusing one packed weight over many calls; k <= K_BLOCK).
 * - With `fma` (relaxed SIMD) each multiply-add is one f32x4.relaxed_madd: half the instructions, about
 *   12% faster here.
 *
 * Measured on this machine's V8 (Node 20): unrolling the shared-dimension loop made V8 hoist the second
 * step's loads and spill accumulators (slower; with FMA, twice as slow); reading operands in place with
 * their own strides instead of packing was slower for every large shape; tanh in the epilogue was slower
 * than a separate unrolled pass. None of these is done.
 */
import { FunctionBuilder, indexTuple, Op, SimdOp, ValType } from './function-builder.ts';
import type { ModuleBuilder } from './module-builder.ts';

const { i32, v128 } = ValType;

/** Rows of the register tile (A panel width) and columns (B panel width). */
export const TILE_M = 4;
export const TILE_N = 8;
/** Floats of packed A kept hot at once (128 KiB, a share of a 512 KiB-1 MiB per-core L2). */
const A_BLOCK_FLOATS = 32768;
/**
 * The longest stretch of the shared dimension packed at once, so that a block of B stays in L2 beside A's
 * (measured: a long k, such as a weight gradient over 4096 rows, ran 10-35% slower unsplit).
 */
export const K_BLOCK = 768;
/**
 * [live columns, A tiles per group] of the narrow right-edge sweep: as many accumulators as V8 keeps in
 * registers beside the loads it hoists (measured: 8 accumulators, 8 A vectors and a broadcast spill).
 */
const NARROW_GROUPS: readonly (readonly [number, number])[] = [
  [1, 6],
  [2, 4],
  [3, 2],
  [4, 2],
];

function emitPackA(): FunctionBuilder {
  // (src, rs, cs, m, k, dst)
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32]);
  const [src, rs, cs, m, k, dst] = [0, 1, 2, 3, 4, 5];
  const [rs4, cs4, ib, s, s1, s2, s3, p, rem, r, k4] = f.locals(i32, 11);
  const rv = f.locals(v128, 4);
  const tv = f.locals(v128, 4);
  f.get(rs).i32(4).op(Op.i32Mul).set(rs4);
  f.get(cs).i32(4).op(Op.i32Mul).set(cs4);
  const advance = (): void => {
    f.get(s).get(cs4).op(Op.i32Add).set(s);
    f.inc(dst, 16);
  };
  f.forLoop(
    ib,
    () => f.i32(0),
    m,
    TILE_M,
    () => {
      f.get(src).get(ib).get(rs4).op(Op.i32Mul).op(Op.i32Add).set(s);
      f.get(m).get(ib).op(Op.i32Sub).set(rem);
      f.get(rem).i32(TILE_M).op(Op.i32GeS);
      f.ifThen(
        () => {
          f.get(rs).i32(1).op(Op.i32Eq);
          f.ifThen(
            // Aᵀ stored: the four rows at one p are adjacent, one vector load.
            () =>
              f.forLoop(
                p,
                () => f.i32(0),
                k,
                1,
                () => {
                  f.get(dst).get(s).v128Load().v128Store();
                  advance();
                },
              ),
            () => {
              // Rows stored contiguously (A, not Aᵀ): 4x4 blocks transposed in registers, then the last k % 4
              // steps one by one.
              f.i32(0).set(p);
              f.get(cs).i32(1).op(Op.i32Eq);
              f.ifThen(() => {
                f.get(k).i32(-4).op(Op.i32And).set(k4);
                f.get(s).get(rs4).op(Op.i32Add).tee(s1).get(rs4).op(Op.i32Add).tee(s2);
                f.get(rs4).op(Op.i32Add).set(s3);
                f.whileLoop(
                  () => f.get(p).get(k4).op(Op.i32LtS),
                  () => {
                    [s, s1, s2, s3].forEach((row, i) => {
                      f.get(row).get(p).i32(4).op(Op.i32Mul).op(Op.i32Add).v128Load().set(rv[i]!);
                    });
                    // (r0, r1) -> (r0[0] r1[0] r0[1] r1[1]), (r0[2] r1[2] r0[3] r1[3]); same for (r2, r3).
                    f.get(rv[0]).get(rv[1]).shuffle32([0, 4, 1, 5]).set(tv[0]);
                    f.get(rv[0]).get(rv[1]).shuffle32([2, 6, 3, 7]).set(tv[1]);
                    f.get(rv[2]).get(rv[3]).shuffle32([0, 4, 1, 5]).set(tv[2]);
                    f.get(rv[2]).get(rv[3]).shuffle32([2, 6, 3, 7]).set(tv[3]);
                    f.get(dst).get(tv[0]).get(tv[2]).shuffle32([0, 1, 4, 5]).v128Store(0);
                    f.get(dst).get(tv[0]).get(tv[2]).shuffle32([2, 3, 6, 7]).v128Store(16);
                    f.get(dst).get(tv[1]).get(tv[3]).shuffle32([0, 1, 4, 5]).v128Store(32);
                    f.get(dst).get(tv[1]).get(tv[3]).shuffle32([2, 3, 6, 7]).v128Store(48);
                    f.inc(dst, 64).inc(p, 4);
                  },
                );
                f.get(s).get(p).i32(4).op(Op.i32Mul).op(Op.i32Add).set(s);
              });
              f.whileLoop(
                () => f.get(p).get(k).op(Op.i32LtS),
                () => {
                  f.inc(p, 1);
                  f.get(s).get(rs4).op(Op.i32Add).tee(s1).get(rs4).op(Op.i32Add).tee(s2);
                  f.get(rs4).op(Op.i32Add).set(s3);
                  f.get(dst).get(s).f32Load().f32Store(0);
                  f.get(dst).get(s1).f32Load().f32Store(4);
                  f.get(dst).get(s2).f32Load().f32Store(8);
                  f.get(dst).get(s3).f32Load().f32Store(12);
                  advance();
                },
              );
            },
          );
        },
        () =>
          f.forLoop(
            p,
            () => f.i32(0),
            k,
            1,
            () => {
              f.get(dst).f32x4(0).v128Store();
              f.forLoop(
                r,
                () => f.i32(0),
                rem,
                1,
                () => {
                  f.get(dst).get(r).i32(4).op(Op.i32Mul).op(Op.i32Add);
                  f.get(s).get(r).get(rs4).op(Op.i32Mul).op(Op.i32Add).f32Load().f32Store();
                },
              );
              advance();
            },
          ),
      );
    },
  );
  return f;
}

function emitPackB(): FunctionBuilder {
  // (src, rs, cs, n, k, dst)
  const f = new FunctionBuilder([i32, i32, i32, i32, i32, i32]);
  const [src, rs, cs, n, k, dst] = [0, 1, 2, 3, 4, 5];
  const [rs4, cs4, jb, s, p, rem, cols, c, sc, k4] = f.locals(i32, 10);
  const colAt = f.locals(i32, TILE_N);
  const rv = f.locals(v128, 4);
  const tv = f.locals(v128, 4);
  // Any layout, or a panel past the right edge: one float at a time, zeros past the edge.
  const emitPackBScalar = (): void => {
    f.get(rem).i32(TILE_N).get(rem).i32(TILE_N).op(Op.i32LtS).op(Op.select).set(cols);
    f.forLoop(
      p,
      () => f.i32(0),
      k,
      1,
      () => {
        f.get(dst).f32x4(0).v128Store(0);
        f.get(dst).f32x4(0).v128Store(16);
        f.get(s).set(sc);
        f.forLoop(
          c,
          () => f.i32(0),
          cols,
          1,
          () => {
            f.get(dst).get(c).i32(4).op(Op.i32Mul).op(Op.i32Add).get(sc).f32Load().f32Store();
            f.get(sc).get(cs4).op(Op.i32Add).set(sc);
          },
        );
        f.get(s).get(rs4).op(Op.i32Add).set(s);
        f.inc(dst, 32);
      },
    );
  };
  f.get(rs).i32(4).op(Op.i32Mul).set(rs4);
  f.get(cs).i32(4).op(Op.i32Mul).set(cs4);
  f.forLoop(
    jb,
    () => f.i32(0),
    n,
    TILE_N,
    () => {
      f.get(src).get(jb).get(cs4).op(Op.i32Mul).op(Op.i32Add).set(s);
      f.get(n).get(jb).op(Op.i32Sub).set(rem);
      f.get(rem).i32(TILE_N).op(Op.i32GeS).get(cs).i32(1).op(Op.i32Eq).op(Op.i32And);
      f.ifThen(
        // B stored row-major and a whole panel: two vector copies per row.
        () =>
          f.forLoop(
            p,
            () => f.i32(0),
            k,
            1,
            () => {
              f.get(dst).get(s).v128Load(0).v128Store(0);
              f.get(dst).get(s).v128Load(16).v128Store(16);
              f.get(s).get(rs4).op(Op.i32Add).set(s);
              f.inc(dst, 32);
            },
          ),
        () => {
          f.get(rem).i32(TILE_N).op(Op.i32GeS).get(rs).i32(1).op(Op.i32Eq).op(Op.i32And);
          f.ifThen(
            // Bᵀ stored (each column's run along k contiguous) and a whole panel: 4 steps of k from each of
            // the 8 columns, two 4x4 blocks transposed in registers (as pack_a), then the last k % 4 steps one
            // by one.
            () => {
              colAt.forEach((col, i) => {
                f.get(s).get(cs4).i32(i).op(Op.i32Mul).op(Op.i32Add).set(col);
              });
              f.get(k).i32(-4).op(Op.i32And).set(k4);
              f.i32(0).set(p);
              f.whileLoop(
                () => f.get(p).get(k4).op(Op.i32LtS),
                () => {
                  for (const half of [0, 1]) {
                    for (let i = 0; i < 4; i++) {
                      f.get(colAt[4 * half + i]!)
                        .get(p)
                        .i32(4)
                        .op(Op.i32Mul)
                        .op(Op.i32Add)
                        .v128Load()
                        .set(rv[i]!);
                    }
                    f.get(rv[0]!).get(rv[1]!).shuffle32([0, 4, 1, 5]).set(tv[0]!);
                    f.get(rv[0]!).get(rv[1]!).shuffle32([2, 6, 3, 7]).set(tv[1]!);
                    f.get(rv[2]!).get(rv[3]!).shuffle32([0, 4, 1, 5]).set(tv[2]!);
                    f.get(rv[2]!).get(rv[3]!).shuffle32([2, 6, 3, 7]).set(tv[3]!);
                    const at = 16 * half;
                    f.get(dst).get(tv[0]!).get(tv[2]!).shuffle32([0, 1, 4, 5]).v128Store(at);
                    f.get(dst)
                      .get(tv[0]!)
                      .get(tv[2]!)
                      .shuffle32([2, 3, 6, 7])
                      .v128Store(at + 32);
                    f.get(dst)
                      .get(tv[1]!)
                      .get(tv[3]!)
                      .shuffle32([0, 1, 4, 5])
                      .v128Store(at + 64);
                    f.get(dst)
                      .get(tv[1]!)
                      .get(tv[3]!)
                      .shuffle32([2, 3, 6, 7])
                      .v128Store(at + 96);
                  }
                  f.inc(dst, 128).inc(p, 4);
                },
              );
              f.whileLoop(
                () => f.get(p).get(k).op(Op.i32LtS),
                () => {
                  colAt.forEach((col, i) => {
                    f.get(dst)
                      .get(col)
                      .get(p)
                      .i32(4)
                      .op(Op.i32Mul)
                      .op(Op.i32Add)
                      .f32Load()
                      .f32Store(4 * i);
                  });
                  f.inc(dst, 32).inc(p, 1);
                },
              );
            },
            () => emitPackBScalar(),
          );
        },
      );
    },
  );
  return f;
}

function emitGemm(packA: number, packB: number, fma: boolean): FunctionBuilder {
  // (batch, m, n, k, a, aRs, aCs, aBs, b, bRs, bCs, bBs, c, cBs, accumulate, pa, pb, tmp, bias, biasBs);
  // strides in floats; bias: address of a length-n vector added to every row of batch entry 0's product
  // (entry i reads it biasBs floats further on), or 0.
  const f = new FunctionBuilder(new Array(20).fill(i32));
  const [batch, m, n, k, a, aRs, aCs, aBs, b, bRs, bCs, bBs, c, cBs, acc, pa, pb, tmp, bias, biasBs] =
    indexTuple(20);
  const [bi, cb, ic, icEnd, mc, jb, ib, ap, bp, apEnd, cp, n4, addr, rows, cols, r, cc] = f.locals(i32, 17);
  const [pc, kc, kStep, kAll, accAll, biasAll, repack] = f.locals(i32, 7);
  const accs = f.locals(v128, 8);
  const [bv0, bv1, av] = f.locals(v128, 3);
  const [val] = f.locals(ValType.f32, 1);
  const [ibStart, live, rr, rowsLeft, rowAt] = f.locals(i32, 5);
  const groupAp = f.locals(i32, 6);
  const groupA = f.locals(v128, 6);
  const groupB = f.locals(v128, 4);
  /** apEnd = the end of the packed A panel that starts at local `from` (k steps of TILE_M floats). */
  const setPanelEnd = (from: number): void => {
    f.get(from)
      .get(k)
      .i32(4 * TILE_M)
      .op(Op.i32Mul)
      .op(Op.i32Add)
      .set(apEnd);
  };

  /**
   * A right-edge panel with `cols` (1-4) live columns, over groups of `tiles` A tiles (4·tiles rows) from
   * ibStart while a whole group fits, leaving ibStart at the first tile not done. Here the tile is turned
   * around: each accumulator holds 4 rows of one column, the product of one A panel's vector and a
   * broadcast B entry, so no lane is spent on columns past the edge and tiles·cols accumulators (6-8)
   * are in flight, where the half-width 4x8 sweep keeps 4 (twice the time per step, at most a quarter of
   * its lanes used when one column is live, as at n = 9 or 1).
   */
  const narrowGroups = (cols: number, tiles: number): void => {
    const sums = accs.slice(0, cols * tiles);
    f.whileLoop(
      () =>
        f
          .get(ibStart)
          .i32(TILE_M * (tiles - 1))
          .op(Op.i32Add)
          .get(icEnd)
          .op(Op.i32LtS),
      () => {
        // Consecutive A panels are 4k floats apart.
        for (let t = 0; t < tiles; t++) {
          f.get(pa)
            .get(ibStart)
            .i32(t * TILE_M)
            .op(Op.i32Add)
            .get(k)
            .op(Op.i32Mul)
            .i32(4)
            .op(Op.i32Mul);
          f.op(Op.i32Add).set(groupAp[t]!);
        }
        f.get(pb).get(jb).get(k).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(bp);
        for (const x of sums) f.f32x4(0).set(x);
        setPanelEnd(groupAp[0]!);
        f.whileLoop(
          () => f.get(groupAp[0]!).get(apEnd).op(Op.i32LtS),
          () => {
            for (let t = 0; t < tiles; t++) f.get(groupAp[t]!).v128Load().set(groupA[t]!);
            for (let j = 0; j < cols; j++)
              f.get(bp)
                .loadSplat(4 * j)
                .set(groupB[j]!);
            for (let t = 0; t < tiles; t++) {
              for (let j = 0; j < cols; j++) {
                const x = sums[t * cols + j]!;
                if (fma) f.get(groupA[t]!).get(groupB[j]!).get(x).simd(SimdOp.f32x4RelaxedMadd);
                else f.get(x).get(groupA[t]!).get(groupB[j]!).simd(SimdOp.f32x4Mul).simd(SimdOp.f32x4Add);
                f.set(x);
              }
            }
            for (let t = 0; t < tiles; t++) f.inc(groupAp[t]!, 4 * TILE_M);
            f.inc(bp, 4 * TILE_N);
          },
        );
        f.get(bias).ifThen(() => {
          for (let j = 0; j < cols; j++) {
            f.get(bias)
              .get(jb)
              .i32(4)
              .op(Op.i32Mul)
              .op(Op.i32Add)
              .loadSplat(4 * j)
              .set(groupB[j]!);
          }
          sums.forEach((x, i) => {
            f.get(x)
              .get(groupB[i % cols]!)
              .simd(SimdOp.f32x4Add)
              .set(x);
          });
        });
        // Through the scratch tile to C: row rr of the group is lane rr % 4 of its tile's accumulators.
        sums.forEach((x, i) => {
          f.get(tmp)
            .get(x)
            .v128Store(16 * i);
        });
        f.get(m).get(ibStart).op(Op.i32Sub).set(rowsLeft);
        f.get(rowsLeft)
          .i32(TILE_M * tiles)
          .get(rowsLeft)
          .i32(TILE_M * tiles)
          .op(Op.i32LtS)
          .op(Op.select)
          .set(rowsLeft);
        f.forLoop(
          rr,
          () => f.i32(0),
          rowsLeft,
          1,
          () => {
            f.get(cb).get(ibStart).get(rr).op(Op.i32Add).get(n).op(Op.i32Mul).get(jb).op(Op.i32Add);
            f.i32(4).op(Op.i32Mul).op(Op.i32Add).set(rowAt);
            // tmp + 4·((tile·cols + j)·4 + rr % 4), tile = rr / 4
            f.get(tmp)
              .get(rr)
              .i32(2)
              .op(Op.i32ShrU)
              .i32(16 * cols)
              .op(Op.i32Mul)
              .op(Op.i32Add);
            f.get(rr).i32(3).op(Op.i32And).i32(4).op(Op.i32Mul).op(Op.i32Add).set(addr);
            for (let j = 0; j < cols; j++) {
              f.get(addr)
                .f32Load(16 * j)
                .set(val);
              f.get(acc).ifThen(() => {
                f.get(val)
                  .get(rowAt)
                  .f32Load(4 * j)
                  .op(Op.f32Add)
                  .set(val);
              });
              f.get(rowAt)
                .get(val)
                .f32Store(4 * j);
            }
          },
        );
        f.inc(ibStart, TILE_M * tiles);
      },
    );
  };

  f.get(n).i32(4).op(Op.i32Mul).set(n4);
  // The shared dimension goes in blocks of at most K_BLOCK, so that a block of B (K_BLOCK x n) and of A
  // stay in L2 however long k is; blocks after the first accumulate onto the first's result.
  f.get(k).set(kAll);
  f.get(acc).set(accAll);
  f.get(bias).set(biasAll);
  f.get(kAll).i32(K_BLOCK).op(Op.i32GtS).set(repack);
  // kc = ceil(k / ceil(k / K_BLOCK)): blocks of equal length (600 = 1 x 600, 4096 = 6 x 683 or less).
  f.get(kAll)
    .i32(K_BLOCK - 1)
    .op(Op.i32Add)
    .i32(K_BLOCK)
    .op(Op.i32DivS)
    .set(kc);
  f.get(kc).i32(1).get(kc).i32(1).op(Op.i32GtS).op(Op.select).set(kc);
  f.get(kAll).get(kc).op(Op.i32Add).i32(1).op(Op.i32Sub).get(kc).op(Op.i32DivS).set(kc);
  // Steps of kc, but at least one: k = 0 still runs one (empty) block, which writes zeros or the bias.
  f.get(kc).i32(1).get(kc).i32(1).op(Op.i32GtS).op(Op.select).set(kStep);
  // mc = max(4, floor(A_BLOCK_FLOATS / kc) rounded down to whole tiles).
  f.i32(A_BLOCK_FLOATS).get(kc).i32(1).get(kc).i32(1).op(Op.i32GtS).op(Op.select).op(Op.i32DivS);
  f.i32(-TILE_M).op(Op.i32And).set(mc);
  f.get(mc).i32(TILE_M).get(mc).i32(TILE_M).op(Op.i32GtS).op(Op.select).set(mc);
  f.forLoop(
    bi,
    () => f.i32(0),
    batch,
    1,
    () => {
      f.i32(0).set(pc);
      f.whileLoop(
        () => f.get(pc).get(kAll).op(Op.i32LtS).get(pc).op(Op.i32Eqz).op(Op.i32Or),
        () => {
          // This block's length k, accumulation (after the first block, always) and bias (first block only).
          f.get(kAll).get(pc).op(Op.i32Sub).set(k);
          f.get(k).get(kc).get(k).get(kc).op(Op.i32LtS).op(Op.select).set(k);
          f.get(accAll).get(pc).op(Op.i32Or).set(acc);
          f.get(biasAll).get(bi).get(biasBs).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add);
          f.i32(0)
            .get(pc)
            .op(Op.i32Eqz)
            .get(biasAll)
            .i32(0)
            .op(Op.i32Ne)
            .op(Op.i32And)
            .op(Op.select)
            .set(bias);
          // A shared operand (batch stride 0) is packed once, unless k is split into blocks; b = 0 says B
          // is already packed at pb (a caller reusing one packed weight over many calls, k <= K_BLOCK).
          f.get(bi).op(Op.i32Eqz).get(bBs).op(Op.i32Or).get(repack).op(Op.i32Or);
          f.i32(0).op(Op.i32Ne).get(b).i32(0).op(Op.i32Ne).op(Op.i32And);
          f.ifThen(() => {
            f.get(b).get(bi).get(bBs).op(Op.i32Mul).get(pc).get(bRs).op(Op.i32Mul).op(Op.i32Add);
            f.i32(4).op(Op.i32Mul).op(Op.i32Add);
            f.get(bRs).get(bCs).get(n).get(k).get(pb).call(packB);
          });
          f.get(bi).op(Op.i32Eqz).get(aBs).op(Op.i32Or).get(repack).op(Op.i32Or);
          f.ifThen(() => {
            f.get(a).get(bi).get(aBs).op(Op.i32Mul).get(pc).get(aCs).op(Op.i32Mul).op(Op.i32Add);
            f.i32(4).op(Op.i32Mul).op(Op.i32Add);
            f.get(aRs).get(aCs).get(m).get(k).get(pa).call(packA);
          });
          f.get(c).get(bi).get(cBs).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(cb);
          // Rows in blocks of mc whose packed A stays in L2 while every B panel sweeps over it.
          f.forLoop(
            ic,
            () => f.i32(0),
            m,
            0,
            () => {
              f.get(ic).get(mc).op(Op.i32Add).tee(icEnd).get(m).get(icEnd).get(m).op(Op.i32LtS).op(Op.select);
              f.set(icEnd);
              f.forLoop(
                jb,
                () => f.i32(0),
                n,
                TILE_N,
                () => {
                  // A panel with at most 4 live columns goes first through groups of tiles (below); the
                  // tiles left over start at ibStart.
                  f.get(ic).set(ibStart);
                  f.get(n).get(jb).op(Op.i32Sub).set(live);
                  for (const [cols, tiles] of NARROW_GROUPS) {
                    f.get(live)
                      .i32(cols)
                      .op(Op.i32Eq)
                      .ifThen(() => narrowGroups(cols, tiles));
                  }
                  f.forLoop(
                    ib,
                    () => f.get(ibStart),
                    icEnd,
                    TILE_M,
                    () => {
                      f.get(pa).get(ib).get(k).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(ap);
                      f.get(pb).get(jb).get(k).op(Op.i32Mul).i32(4).op(Op.i32Mul).op(Op.i32Add).set(bp);
                      for (const x of accs) f.f32x4(0).set(x);
                      // One step of the shared dimension: two vectors of B, four broadcasts of A, 8 multiply-adds.
                      // A panel with at most 4 live columns (n = 4, 9, ... at the right edge) runs half of it.
                      const sweep = (halves: number): void => {
                        // The loop runs on the A pointer itself (no separate counter to keep and compare).
                        setPanelEnd(ap);
                        f.whileLoop(
                          () => f.get(ap).get(apEnd).op(Op.i32LtS),
                          () => {
                            f.get(bp).v128Load(0).set(bv0);
                            if (halves === 2) f.get(bp).v128Load(16).set(bv1);
                            for (let row = 0; row < TILE_M; row++) {
                              f.get(ap)
                                .loadSplat(4 * row)
                                .set(av);
                              for (let half = 0; half < halves; half++) {
                                const x = accs[2 * row + half]!;
                                if (fma)
                                  f.get(av)
                                    .get(half ? bv1 : bv0)
                                    .get(x)
                                    .simd(SimdOp.f32x4RelaxedMadd);
                                else
                                  f.get(x)
                                    .get(av)
                                    .get(half ? bv1 : bv0)
                                    .simd(SimdOp.f32x4Mul)
                                    .simd(SimdOp.f32x4Add);
                                f.set(x);
                              }
                            }
                            f.inc(ap, 4 * TILE_M).inc(bp, 4 * TILE_N);
                          },
                        );
                      };
                      f.get(n)
                        .get(jb)
                        .op(Op.i32Sub)
                        .i32(TILE_N / 2)
                        .op(Op.i32LeS);
                      f.ifThen(
                        () => sweep(1),
                        () => sweep(2),
                      );
                      // Epilogue: the bias (a fused linear layer's) joins the tile while it is in registers.
                      f.get(bias).ifThen(() => {
                        f.get(bias).get(jb).i32(4).op(Op.i32Mul).op(Op.i32Add).set(addr);
                        f.get(addr).v128Load(0).set(bv0);
                        f.get(addr).v128Load(16).set(bv1);
                        accs.forEach((x, i) => {
                          f.get(x)
                            .get(i % 2 ? bv1 : bv0)
                            .simd(SimdOp.f32x4Add)
                            .set(x);
                        });
                      });
                      f.get(cb)
                        .get(ib)
                        .get(n)
                        .op(Op.i32Mul)
                        .get(jb)
                        .op(Op.i32Add)
                        .i32(4)
                        .op(Op.i32Mul)
                        .op(Op.i32Add);
                      f.set(cp);
                      f.get(ib).i32(TILE_M).op(Op.i32Add).get(m).op(Op.i32LeS);
                      f.get(jb).i32(TILE_N).op(Op.i32Add).get(n).op(Op.i32LeS).op(Op.i32And);
                      f.ifThen(
                        () => {
                          for (let row = 0; row < TILE_M; row++) {
                            f.get(cp).get(n4).i32(row).op(Op.i32Mul).op(Op.i32Add).set(addr);
                            f.get(acc).ifThen(() => {
                              for (const half of [0, 1]) {
                                const x = accs[2 * row + half]!;
                                f.get(x)
                                  .get(addr)
                                  .v128Load(16 * half)
                                  .simd(SimdOp.f32x4Add)
                                  .set(x);
                              }
                            });
                            f.get(addr)
                              .get(accs[2 * row]!)
                              .v128Store(0);
                            f.get(addr)
                              .get(accs[2 * row + 1]!)
                              .v128Store(16);
                          }
                        },
                        () => {
                          // Edge tile: spill the registers, then write back only the rows and columns inside C.
                          accs.forEach((x, i) => {
                            f.get(tmp)
                              .get(x)
                              .v128Store(16 * i);
                          });
                          f.get(m).get(ib).op(Op.i32Sub).set(rows);
                          f.get(rows).i32(TILE_M).get(rows).i32(TILE_M).op(Op.i32LtS).op(Op.select).set(rows);
                          f.get(n).get(jb).op(Op.i32Sub).set(cols);
                          f.get(cols).i32(TILE_N).get(cols).i32(TILE_N).op(Op.i32LtS).op(Op.select).set(cols);
                          f.forLoop(
                            r,
                            () => f.i32(0),
                            rows,
                            1,
                            () =>
                              f.forLoop(
                                cc,
                                () => f.i32(0),
                                cols,
                                1,
                                () => {
                                  f.get(cp).get(r).get(n4).op(Op.i32Mul).op(Op.i32Add);
                                  f.get(cc).i32(4).op(Op.i32Mul).op(Op.i32Add).set(addr);
                                  f.get(tmp).get(r).i32(TILE_N).op(Op.i32Mul).get(cc).op(Op.i32Add);
                                  f.i32(4).op(Op.i32Mul).op(Op.i32Add).f32Load().set(val);
                                  f.get(acc).ifThen(() => {
                                    f.get(val).get(addr).f32Load().op(Op.f32Add).set(val);
                                  });
                                  f.get(addr).get(val).f32Store();
                                },
                              ),
                          );
                        },
                      );
                    },
                  );
                },
              );
              f.get(ic).get(mc).op(Op.i32Add).set(ic);
            },
          );
          f.get(pc).get(kStep).op(Op.i32Add).set(pc);
        },
      );
    },
  );
  return f;
}

/**
 * Adds pack_a, pack_b and gemm to the module; returns gemm's function index. With `fma` the micro-kernel's
 * multiply-adds are relaxed-SIMD f32x4.relaxed_madd (one fused instruction where the CPU has FMA).
 */
export function addGemm(module: ModuleBuilder, fma = false): number {
  const packA = module.add('pack_a', emitPackA());
  const packB = module.add('pack_b', emitPackB());
  return module.add('gemm', emitGemm(packA, packB, fma));
}
