/**
 * Byte-level encodings of the WebAssembly binary format (spec §5.2): LEB128 integers, little-endian f32,
 * length-prefixed names and vectors. A growable byte buffer collects them.
 */

export class ByteWriter {
  private bytes = new Uint8Array(256);
  private length = 0;

  get size(): number {
    return this.length;
  }

  byte(b: number): this {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = b & 0xff;
    return this;
  }

  append(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.byte(bytes[i]!);
    return this;
  }

  /** Unsigned LEB128 (spec §5.2.2), for indices, counts and sizes. */
  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`wasm encoding: ${value} is not an unsigned 32-bit integer`);
    }
    let v = value;
    do {
      let b = v & 0x7f;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128, for i32.const immediates. */
  s32(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new Error(`wasm encoding: ${value} is not a signed 32-bit integer`);
    }
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  f32(value: number): this {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.byte(view.getUint8(i));
    return this;
  }

  /** A UTF-8 name, length first. */
  name(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    return this.u32(utf8.length).append(utf8);
  }

  /** Another writer's bytes, length first (how sections and function bodies are framed). */
  sized(inner: ByteWriter): this {
    return this.u32(inner.size).append(inner.finish());
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}
