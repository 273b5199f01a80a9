/**
 * Opcode numbers from the WebAssembly core specification (§5.4) and the fixed-width SIMD proposal, now
 * part of the standard (SIMD instructions are the 0xFD prefix followed by a LEB128 sub-opcode).
 */

export const ValType = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Core single-byte opcodes the kernels use. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  f32Const: 0x43,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32GtS: 0x4a,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  f32Gt: 0x5e,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f32Abs: 0x8b,
  f32Neg: 0x8c,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32Min: 0x96,
  f32Max: 0x97,
} as const;

/** SIMD128 sub-opcodes (after the 0xFD prefix). */
export const SimdOp = {
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i8x16Shuffle: 0x0d,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Eq: 0x41,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Le: 0x45,
  f32x4Ge: 0x46,
  v128And: 0x4e,
  v128AndNot: 0x4f,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  f32x4Pmin: 0xea,
  f32x4Pmax: 0xeb,
  i32x4TruncSatF32x4S: 0xf8,
  /** Relaxed SIMD: a·b + c, fused or not as the CPU does it fastest. */
  f32x4RelaxedMadd: 0x105,
  /** Relaxed SIMD: c - a·b. */
  f32x4RelaxedNmadd: 0x106,
} as const;

export const SIMD_PREFIX = 0xfd;
/** Block type for a block that leaves nothing on the stack. */
export const BLOCK_VOID = 0x40;
