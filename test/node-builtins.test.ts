/**
 * Outside Node (a browser page), the engine's file and thread functions throw an error that names the
 * function, the missing Node module and what works instead; they look Node's modules up when called
 * (src/node-builtins), which is what lets every entry point bundle for a browser (test/package.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkerVectorEnv } from '../src/env/worker-vector.ts';
import { Linear, loadModule, saveModule, writeFileAtomic } from '../src/nn/index.ts';
import { ReplayBuffer } from '../src/rl/world-model/replay-buffer.ts';
import { Rng } from '../src/tensor/index.ts';

const processWithLookup = process as { getBuiltinModule?: unknown };
const lookup = processWithLookup.getBuiltinModule;

describe('Node-only functions where Node is absent', () => {
  beforeEach(() => {
    processWithLookup.getBuiltinModule = undefined;
  });
  afterEach(() => {
    processWithLookup.getBuiltinModule = lookup;
  });

  it('throw, naming the function, the module and the alternative', async () => {
    const model = new Linear(2, 2, { rng: new Rng(1) });
    const file = '/nonexistent-folder/x.safetensors';
    expect(() => writeFileAtomic(file, 'text')).toThrow(
      /^writeFileAtomic needs Node's node:fs, which this runtime does not offer .*moduleToSafetensors/,
    );
    expect(() => saveModule(file, model)).toThrow(/^writeFileAtomic needs Node's node:fs/);
    expect(() => loadModule(file, model)).toThrow(/^loadModule needs Node's node:fs/);
    expect(() => ReplayBuffer.load(file)).toThrow(/^ReplayBuffer.load needs Node's node:fs/);
    await expect(WorkerVectorEnv.create({ numEnvs: 2 })).rejects.toThrow(
      /^WorkerVectorEnv needs Node's node:os.*SyncVectorEnv/,
    );
  });
});
