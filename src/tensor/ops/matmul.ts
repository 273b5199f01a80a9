/**
 * Matrix product with its gradient. Shapes: [m,k]·[k,n], batched [B,m,k]·[B,k,n], and [B,m,k]·[k,n] (one
 * matrix shared by the whole batch, as a linear layer over a sequence or an ensemble's inputs need).
 * The backward pass calls the same kernel in its transposed forms, dA = dC·Bᵀ and dB = Aᵀ·dC, so no
 * transposed copy is made.
 */
import { kernels } from '../kernels/backend.ts';
import { shapeString } from '../shape.ts';
import { gradBuffer, needsGrad, recordGraph, resultTensor, type Tensor } from '../tensor.ts';

export function matmul(a: Tensor, b: Tensor): Tensor {
  a.assertAlive('matmul');
  b.assertAlive('matmul');
  const mismatch = (): Error =>
    new Error(
      `matmul: shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} do not fit; expected [m,k]·[k,n], ` +
        '[B,m,k]·[B,k,n] or [B,m,k]·[k,n]',
    );
  if (a.ndim < 2 || a.ndim > 3 || b.ndim < 2 || b.ndim > 3) throw mismatch();
  const m = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const n = b.shape[b.ndim - 1]!;
  if (b.shape[b.ndim - 2] !== k) throw mismatch();
  const gemm = kernels().gemm;

  if (b.ndim === 2) {
    // [.., m, k]·[k, n]: the leading batch folds into the rows, so it is one product of [B*m, k]·[k, n].
    const rows = a.size / k || 0;
    const shape = a.ndim === 2 ? [m, n] : [a.shape[0]!, m, n];
    const out = resultTensor(shape);
    gemm(false, false, rows, n, k, a.data, 0, b.data, 0, out.data, 0, false);
    if (needsGrad([a, b])) {
      recordGraph(
        out,
        [a, b],
        (g) => {
          const ga = gradBuffer(a);
          const gb = gradBuffer(b);
          if (ga) gemm(false, true, rows, k, n, g, 0, b.data, 0, ga, 0, true);
          if (gb) gemm(true, false, k, n, rows, a.data, 0, g, 0, gb, 0, true);
        },
        'matmul',
      );
    }
    return out;
  }

  const batch = b.shape[0]!;
  if (a.ndim === 3 && a.shape[0] !== batch) throw mismatch();
  const aStride = a.ndim === 3 ? m * k : 0;
  const out = resultTensor([batch, m, n]);
  const batched = kernels().gemmBatched;
  batched(batch, false, false, m, n, k, a.data, 0, aStride, b.data, 0, k * n, out.data, 0, m * n, false);
  if (needsGrad([a, b])) {
    recordGraph(
      out,
      [a, b],
      (g) => {
        const ga = gradBuffer(a);
        const gb = gradBuffer(b);
        if (ga) batched(batch, false, true, m, k, n, g, 0, m * n, b.data, 0, k * n, ga, 0, aStride, true);
        // With a shared A (stride 0) every B_i gets its own gradient, so the batch stays one call.
        if (gb) batched(batch, true, false, k, n, m, a.data, 0, aStride, g, 0, m * n, gb, 0, k * n, true);
      },
      'matmul',
    );
  }
  return out;
}
