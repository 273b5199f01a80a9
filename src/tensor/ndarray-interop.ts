/** Interop with `ndarray`: any strided view in, a contiguous row-major view out. */
import ndarray from 'ndarray';
import { type Tensor, trackedTensor } from './tensor.ts';

/**
 * Copies any ndarray view (strided, offset, negative strides, any numeric storage) into a new contiguous
 * float32 tensor.
 */
export function fromNdarray(nd: ndarray.NdArray): Tensor {
  const shape = [...nd.shape];
  const size = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  const counter = new Array<number>(shape.length).fill(0);
  let offset = nd.offset;
  const data = nd.data as ArrayLike<number> & { get?: (i: number) => number };
  const read = typeof data.get === 'function' ? (i: number) => data.get!(i) : (i: number) => data[i]!;
  for (let i = 0; i < size; i++) {
    out[i] = read(offset);
    for (let d = shape.length - 1; d >= 0; d--) {
      counter[d]!++;
      offset += nd.stride[d]!;
      if (counter[d]! < shape[d]!) break;
      offset -= nd.stride[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
  return trackedTensor(out, shape);
}

/**
 * A row-major ndarray view over the tensor's own buffer (no copy). The view is raw memory: do not keep it
 * past the tensor's `tidy` scope, as the buffer is recycled then and nothing can check the view.
 */
export function toNdarray(t: Tensor): ndarray.NdArray<Float32Array> {
  t.assertAlive('toNdarray');
  return ndarray(t.data, [...t.shape]);
}
