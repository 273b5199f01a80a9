/**
 * The safetensors format (https://github.com/huggingface/safetensors), as pure bytes so it works in a
 * browser as well as in Node:
 *
 *   8 bytes   little-endian u64 N, the length of the header
 *   N bytes   UTF-8 JSON: { name: { dtype: 'F32', shape: [...], data_offsets: [begin, end] }, ...,
 *             "__metadata__"?: { string: string } }, padded with spaces
 *   rest      raw little-endian tensor data; offsets count from the start of this section
 *
 * Only F32 is written or read; the engine holds everything as float32. Files written here open with
 * Python's `safetensors.torch.load_file`.
 */

export interface SafetensorsTensor {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Header size cap, as the reference implementation's (100 MB), so a garbage length fails fast. */
const MAX_HEADER = 100_000_000;

/** Encodes tensors (in the order given) and optional string metadata into one safetensors byte string. */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  const metaEntries = Object.entries(metadata);
  if (metaEntries.length > 0) {
    for (const [k, v] of metaEntries) {
      if (typeof v !== 'string')
        throw new Error(`encodeSafetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error("encodeSafetensors: '__metadata__' cannot name a tensor");
    const size = t.shape.reduce((p, d) => p * d, 1);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || size !== t.data.length) {
      throw new Error(
        `encodeSafetensors: tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values`,
      );
    }
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so the data section starts 8-byte aligned (the reference implementation does too).
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(at + 4 * i, t.data[i]!, true);
    }
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Decodes a safetensors byte string. Every inconsistency (too short, a header length past the end, a header
 * that is not JSON, a dtype other than F32, offsets that do not fit the shape or run past the end) is an
 * error that says what was found; `source` (a file name) is quoted in it.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContents {
  const fail = (why: string): Error =>
    new Error(`decodeSafetensors: ${source} is not a valid safetensors file: ${why}`);
  if (!(bytes instanceof Uint8Array)) throw fail('expected a Uint8Array of bytes');
  if (bytes.length < 8) {
    throw fail(
      `it is ${bytes.length} bytes long (truncated?); a safetensors file starts with an 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (headerLength === 0 || headerLength > MAX_HEADER) {
    throw fail(`the header length field reads ${headerLength}, expected 1 to ${MAX_HEADER}`);
  }
  if (8 + headerLength > bytes.length) {
    throw fail(
      `the header length field reads ${headerLength} bytes but only ${bytes.length - 8} follow it (truncated?)`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
    if (!text.startsWith('{')) throw new Error('the header does not start with "{"');
    header = JSON.parse(text);
  } catch (e) {
    throw fail(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw fail('the header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafetensorsTensor> = {};
  let covered = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw fail('"__metadata__" must be an object of strings');
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw fail(`metadata '${k}' is ${JSON.stringify(v)}, expected a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object')
      throw fail(`tensor '${name}' has no {dtype, shape, data_offsets}`);
    if (e.dtype !== 'F32') {
      throw fail(`tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; only F32 is supported`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw fail(
        `tensor '${name}' has shape ${JSON.stringify(shape)}, expected a list of non-negative integers`,
      );
    }
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((p, d) => p * d, 1);
    if (end < begin || end - begin !== 4 * size) {
      throw fail(
        `tensor '${name}' has data_offsets [${begin}, ${end}] but shape [${shape.join(', ')}] needs ${4 * size} bytes`,
      );
    }
    if (end > dataLength) {
      throw fail(
        `tensor '${name}' ends at byte ${end} of the data but the data holds only ${dataLength} (truncated?)`,
      );
    }
    covered += end - begin;
    const data = new Float32Array(size);
    if (LITTLE_ENDIAN) {
      // A copy: the source may be unaligned for a Float32Array view, and the caller may reuse its buffer.
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    } else {
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true);
    }
    tensors[name] = { shape: shape as number[], data };
  }
  if (covered !== dataLength) {
    throw fail(`the tensors cover ${covered} bytes of data but ${dataLength} follow the header`);
  }
  return { tensors, metadata };
}
