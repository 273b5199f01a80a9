/**
 * Emits one WebAssembly function body, instruction by instruction, as a stack machine: every method
 * appends its opcode and returns the builder so instructions chain in the order they run. Structured
 * control flow (`whileLoop`, `forLoop`, `ifThen`) is built from block/loop/br so callers never count
 * label depths themselves.
 */
import { ByteWriter } from './encoding.ts';
import { BLOCK_VOID, Op, SIMD_PREFIX, SimdOp, ValType } from './opcodes.ts';

/**
 * `count` local indices as a tuple of that length when `count` is a literal (`locals(i32, 3)` is
 * `[number, number, number]`), so destructuring and constant indexing need no `!`; a plain `number` gives
 * `number[]`.
 */
export type LocalIndices<N extends number, Acc extends number[] = []> = number extends N
  ? number[]
  : Acc['length'] extends N
    ? Acc
    : LocalIndices<N, [...Acc, number]>;

/** The indices 0 .. count - 1 as a tuple (a function's parameter indices, for destructuring by name). */
export function indexTuple<N extends number>(count: N): LocalIndices<N> {
  return Array.from({ length: count }, (_, i) => i) as LocalIndices<N>;
}

export class FunctionBuilder {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  private readonly localTypes: ValType[] = [];
  private readonly code = new ByteWriter();
  private readonly prologue = new ByteWriter();
  private readonly constants = new Map<string, number>();

  /** Whether `mulAdd` may emit relaxed SIMD's fused multiply-add (the module must then be relaxed SIMD). */
  readonly fma: boolean;

  constructor(params: readonly ValType[], results: readonly ValType[] = [], options: { fma?: boolean } = {}) {
    this.params = params;
    this.results = results;
    this.fma = options.fma ?? false;
  }

  /**
   * Stack [a, b] -> a·b + c (f32x4), where `addend` pushes c: one f32x4.relaxed_madd when the builder may
   * use FMA, else a multiply and an add.
   */
  /** Stack [a, b] -> c - a·b, where `minuend` pushes c (relaxed_nmadd with FMA). */
  mulSub(minuend: () => void): this {
    if (this.fma) {
      minuend();
      return this.simd(SimdOp.f32x4RelaxedNmadd);
    }
    this.simd(SimdOp.f32x4Mul);
    const product = this.local(ValType.v128);
    this.set(product);
    minuend();
    return this.get(product).simd(SimdOp.f32x4Sub);
  }

  mulAdd(addend: () => void): this {
    if (this.fma) {
      addend();
      return this.simd(SimdOp.f32x4RelaxedMadd);
    }
    this.simd(SimdOp.f32x4Mul);
    addend();
    return this.simd(SimdOp.f32x4Add);
  }

  /** A fresh local of the given type; its index follows the parameters. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  locals<N extends number>(type: ValType, count: N): LocalIndices<N> {
    return Array.from({ length: count }, () => this.local(type)) as LocalIndices<N>;
  }

  op(code: number): this {
    this.code.byte(code);
    return this;
  }

  simd(code: number): this {
    this.code.byte(SIMD_PREFIX).u32(code);
    return this;
  }

  get(index: number): this {
    this.code.byte(Op.localGet).u32(index);
    return this;
  }

  set(index: number): this {
    this.code.byte(Op.localSet).u32(index);
    return this;
  }

  tee(index: number): this {
    this.code.byte(Op.localTee).u32(index);
    return this;
  }

  i32(value: number): this {
    this.code.byte(Op.i32Const).s32(value);
    return this;
  }

  f32(value: number): this {
    this.code.byte(Op.f32Const).f32(value);
    return this;
  }

  /** A v128 constant with the same f32 in all four lanes (read from a hoisted local, see `constant`). */
  f32x4(value: number): this {
    const bytes = new ByteWriter();
    for (let lane = 0; lane < 4; lane++) bytes.f32(value);
    return this.get(this.constant(bytes.finish()));
  }

  call(functionIndex: number): this {
    this.code.byte(Op.call).u32(functionIndex);
    return this;
  }

  /** A v128 constant with the same i32 in all four lanes. */
  i32x4(value: number): this {
    const bytes = new ByteWriter();
    for (let lane = 0; lane < 4; lane++) for (let b = 0; b < 4; b++) bytes.byte((value >>> (8 * b)) & 0xff);
    return this.get(this.constant(bytes.finish()));
  }

  /**
   * The local holding a v128 constant, set once at function entry. V8 rebuilds a v128.const at every use
   * (several instructions each), which inside a loop costs more than the arithmetic; a local costs a
   * register or one load.
   */
  private constant(bytes: Uint8Array): number {
    const key = bytes.join(',');
    let local = this.constants.get(key);
    if (local === undefined) {
      local = this.local(ValType.v128);
      this.constants.set(key, local);
      this.prologue.byte(SIMD_PREFIX).u32(SimdOp.v128Const).append(bytes).byte(Op.localSet).u32(local);
    }
    return local;
  }

  /** local[index] += delta (an i32 local). */
  inc(index: number, delta: number): this {
    return this.get(index).i32(delta).op(Op.i32Add).set(index);
  }

  // Memory access: the address is on the stack; `offset` is a constant byte offset added to it.
  f32Load(offset = 0): this {
    this.code.byte(Op.f32Load).u32(2).u32(offset);
    return this;
  }

  f32Store(offset = 0): this {
    this.code.byte(Op.f32Store).u32(2).u32(offset);
    return this;
  }

  v128Load(offset = 0): this {
    this.code.byte(SIMD_PREFIX).u32(SimdOp.v128Load).u32(4).u32(offset);
    return this;
  }

  v128Store(offset = 0): this {
    this.code.byte(SIMD_PREFIX).u32(SimdOp.v128Store).u32(4).u32(offset);
    return this;
  }

  /** Loads one f32 and splats it to all four lanes. */
  loadSplat(offset = 0): this {
    this.code.byte(SIMD_PREFIX).u32(SimdOp.v128Load32Splat).u32(2).u32(offset);
    return this;
  }

  /** Two f32x4 on the stack -> four of their eight lanes (0-3 from the first, 4-7 from the second). */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    this.code.byte(SIMD_PREFIX).u32(SimdOp.i8x16Shuffle);
    for (const lane of lanes) for (let b = 0; b < 4; b++) this.code.byte(4 * lane + b);
    return this;
  }

  /** `if (cond) then() else otherwise()`; the condition (i32) must be on the stack. */
  ifThen(then: () => void, otherwise?: () => void): this {
    this.code.byte(Op.if).byte(BLOCK_VOID);
    then();
    if (otherwise) {
      this.code.byte(Op.else);
      otherwise();
    }
    this.code.byte(Op.end);
    return this;
  }

  /** `while (cond()) body()`: `cond` pushes an i32. */
  whileLoop(cond: () => void, body: () => void): this {
    this.code.byte(Op.block).byte(BLOCK_VOID).byte(Op.loop).byte(BLOCK_VOID);
    cond();
    this.op(Op.i32Eqz).code.byte(Op.brIf).u32(1);
    body();
    this.code.byte(Op.br).u32(0).byte(Op.end).byte(Op.end);
    return this;
  }

  /** `for (i = from; i < end; i += step) body()`; `end` is an i32 local, `from` pushes an i32. */
  forLoop(i: number, from: () => void, end: number, step: number, body: () => void): this {
    from();
    this.set(i);
    return this.whileLoop(
      () => this.get(i).get(end).op(Op.i32LtS),
      () => {
        body();
        this.inc(i, step);
      },
    );
  }

  /** The function's code section entry: locals grouped by type, then the body and `end`. */
  encode(): ByteWriter {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const entry = new ByteWriter().u32(groups.length);
    for (const [count, type] of groups) entry.u32(count).byte(type);
    entry.append(this.prologue.finish()).append(this.code.finish()).byte(Op.end);
    return entry;
  }
}

export { Op, SimdOp, ValType };
