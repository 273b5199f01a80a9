// Checkpoints: safetensors bytes (hand-built files load, damaged ones fail clearly), module + optimiser
// round trips that resume bit-identically, and atomic writes.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  decodeSafetensors,
  encodeSafetensors,
  Linear,
  loadCheckpoint,
  loadModule,
  loadModuleFromSafetensors,
  loadOptimizerFromSafetensors,
  MLP,
  moduleToSafetensors,
  mse,
  SGD,
  saveCheckpoint,
  saveOptimizer,
  writeFileAtomic,
} from '../src/nn/index.ts';
import { noGrad, Rng, type Tensor, tensor, tidy } from '../src/tensor/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'nn-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors byte string built by hand from a header object and little-endian float32 values. */
function handBuilt(header: object, values: number[], pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + 4 * values.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  values.forEach((v, i) => {
    view.setFloat32(8 + json.length + 4 * i, v, true);
  });
  return out;
}

function trainSteps(model: MLP, optimizer: Adam, x: Tensor, y: Tensor, count: number): void {
  for (let i = 0; i < count; i++) {
    tidy(() => {
      optimizer.zeroGrad();
      mse(model.forward(x), y).backward();
      optimizer.step();
    });
  }
}

describe('safetensors bytes', () => {
  it('a hand-built file loads into a module, metadata and all', () => {
    // Linear(1, 2) holds weight [1, 2] and bias [2]; the header lists them out of order, with padding.
    const bytes = handBuilt(
      {
        bias: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
        weight: { dtype: 'F32', shape: [1, 2], data_offsets: [0, 8] },
        __metadata__: { format: 'pt', note: 'by hand' },
      },
      [1.5, -2, 0.25, 3],
      5,
    );
    const layer = new Linear(1, 2, { rng: new Rng(0) });
    const metadata = loadModuleFromSafetensors(layer, bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'by hand' });
    expect(Array.from(layer.weight.data)).toEqual([1.5, -2]);
    expect(Array.from(layer.bias!.data)).toEqual([0.25, 3]);
    const y = noGrad(() => layer.forward(tensor([[2]])).toArray());
    expect(y).toEqual([[3.25, -1]]);
  });

  it('encodes the layout the format specifies', () => {
    const bytes = encodeSafetensors({ a: { shape: [2], data: Float32Array.of(1, 2) } }, { k: 'v' });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const headerLength = Number(view.getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header).toEqual({
      __metadata__: { k: 'v' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    });
    expect(bytes.length).toBe(8 + headerLength + 8);
    expect(view.getFloat32(8 + headerLength + 4, true)).toBe(2);
    const back = decodeSafetensors(bytes);
    expect(Array.from(back.tensors.a!.data)).toEqual([1, 2]);
  });

  it('truncated or foreign bytes are clear errors', () => {
    const good = moduleToSafetensors(new MLP([2, 3, 1], { rng: new Rng(0) }));
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4), 'model.safetensors')).toThrow(
      /model\.safetensors is not a valid safetensors file: .*truncated/,
    );
    expect(() => decodeSafetensors(good.subarray(0, 40))).toThrow(/truncated/);
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(/5 bytes long \(truncated\?\)/);
    expect(() => decodeSafetensors(new TextEncoder().encode('{"not": "safetensors"} hello'))).toThrow(
      /header length field reads \d+/,
    );
    const notJson = handBuilt({ a: 1 }, []);
    notJson[8] = 0x5b; // '[' instead of '{'
    expect(() => decodeSafetensors(notJson)).toThrow(/not UTF-8 JSON/);
    const f16 = handBuilt({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, [0]);
    expect(() => decodeSafetensors(f16)).toThrow(/dtype "F16"; only F32/);
    const wrongSize = handBuilt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, [1, 2]);
    expect(() => decodeSafetensors(wrongSize)).toThrow(/shape \[3\] needs 12 bytes/);
  });

  it('loading a damaged or foreign file names the file', () => {
    const file = join(dir, 'broken.safetensors');
    const good = moduleToSafetensors(new MLP([2, 3, 1], { rng: new Rng(0) }));
    writeFileSync(file, good.subarray(0, good.length - 10));
    const model = new MLP([2, 3, 1], { rng: new Rng(1) });
    expect(() => loadModule(file, model)).toThrow(/broken\.safetensors is not a valid safetensors file/);
    const png = join(dir, 'image.png');
    writeFileSync(png, Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13));
    expect(() => loadModule(png, model)).toThrow(/image\.png is not a valid safetensors file/);
    expect(() => loadModule(join(dir, 'missing.safetensors'), model)).toThrow(
      /cannot read .*missing\.safetensors/,
    );
    // A valid file for another architecture is a mismatch error, not a silent partial load.
    const other = join(dir, 'other.safetensors');
    writeFileSync(other, moduleToSafetensors(new MLP([2, 4, 1], { rng: new Rng(0) })));
    expect(() => loadModule(other, model)).toThrow(/other\.safetensors.*'0\.weight' has shape \[2, 4\]/);
  });
});

describe('checkpoint round trip', () => {
  it('module and Adam state resume bit-identically', () => {
    const rng = new Rng(21);
    const x = tensor(rng.fillNormal(new Float32Array(32 * 3)), [32, 3]);
    const y = tensor(rng.fillNormal(new Float32Array(32 * 2)), [32, 2]);
    const model = new MLP([3, 8, 8, 2], { rng: new Rng(1) });
    const adam = new Adam(model.parameters(), { lr: 3e-3 });
    trainSteps(model, adam, x, y, 5);
    const files = saveCheckpoint(dir, 'run', { model, optimizer: adam, metadata: { step: '5' } });
    expect(files.optimizer).toBe(join(dir, 'run.optim.safetensors'));

    const restored = new MLP([3, 8, 8, 2], { rng: new Rng(99) });
    const restoredAdam = new Adam(restored.parameters(), { lr: 1 });
    expect(loadCheckpoint(dir, 'run', { model: restored, optimizer: restoredAdam })).toEqual({ step: '5' });
    expect(restoredAdam.steps).toBe(5);
    expect(restoredAdam.lr).toBe(adam.lr);
    const outputs = (m: MLP): Float32Array => noGrad(() => m.forward(x).data.slice());
    expect(outputs(restored)).toEqual(outputs(model));
    // Training on from both gives the same bits: the moments and step count came back exactly.
    trainSteps(model, adam, x, y, 3);
    trainSteps(restored, restoredAdam, x, y, 3);
    const a = outputs(model);
    const b = outputs(restored);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('refuses a model and optimizer pair left out of step by an interrupted save', () => {
    const rng = new Rng(5);
    const x = tensor(rng.fillNormal(new Float32Array(8 * 3)), [8, 3]);
    const y = tensor(rng.fillNormal(new Float32Array(8 * 2)), [8, 2]);
    const model = new MLP([3, 4, 2], { rng: new Rng(1) });
    const adam = new Adam(model.parameters());
    trainSteps(model, adam, x, y, 2);
    saveCheckpoint(dir, 'torn', { model, optimizer: adam });
    trainSteps(model, adam, x, y, 1);
    // The save writes the optimizer first; a crash before the model write leaves this pair behind.
    saveOptimizer(join(dir, 'torn.optim.safetensors'), adam);
    const restored = new MLP([3, 4, 2], { rng: new Rng(2) });
    expect(() =>
      loadCheckpoint(dir, 'torn', { model: restored, optimizer: new Adam(restored.parameters()) }),
    ).toThrow(
      /optimizer after 3 steps but the model torn.safetensors was saved after 2; the pair is out of step/,
    );
  });

  it('SGD momentum state round-trips and a different optimiser kind is refused', () => {
    const model = new MLP([2, 4, 1], { rng: new Rng(3) });
    const x = tensor([
      [1, 2],
      [3, -1],
    ]);
    const sgd = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    tidy(() => {
      mse(model.forward(x), tensor([[1], [0]])).backward();
      sgd.step();
    });
    saveCheckpoint(dir, 'sgd', { model, optimizer: sgd });
    const other = new SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
    loadCheckpoint(dir, 'sgd', { model, optimizer: other });
    expect(other.stateDict()).toEqual(sgd.stateDict());
    const adam = new Adam(model.parameters());
    expect(() =>
      loadOptimizerFromSafetensors(adam, readFileSync(join(dir, 'sgd.optim.safetensors'))),
    ).toThrow(/state is for optimiser 'sgd', expected 'adam'/);
  });
});

describe('atomic writes', () => {
  it('replace the whole file and leave no temporary files behind', () => {
    const sub = join(dir, 'atomic');
    const file = join(sub, 'model.safetensors');
    writeFileAtomic(file, 'first version, rather long');
    writeFileAtomic(file, 'second');
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(readdirSync(sub)).toEqual(['model.safetensors']);
  });

  it('a failed write leaves the old target untouched and removes its temporary file', () => {
    const sub = join(dir, 'failing');
    // The target is a non-empty folder, so the final rename fails after the temporary file was written.
    const target = join(sub, 'busy');
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'keep.txt'), 'old');
    expect(() => writeFileAtomic(target, 'new')).toThrow();
    expect(readdirSync(sub)).toEqual(['busy']);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('old');
  });

  it('checkpoint saves go through a temporary file and rename', () => {
    const sub = join(dir, 'ckpt');
    const model = new MLP([2, 3, 1], { rng: new Rng(4) });
    saveCheckpoint(sub, 'a', { model, optimizer: new Adam(model.parameters()) });
    saveCheckpoint(sub, 'a', { model, optimizer: new Adam(model.parameters()) });
    expect(readdirSync(sub).sort()).toEqual(['a.optim.safetensors', 'a.safetensors']);
  });
});
