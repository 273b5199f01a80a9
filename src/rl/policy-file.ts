/**
 * A PPO policy (`ActorCritic`) rebuilt from a `policy.safetensors` alone, without the run's config.json:
 * the hidden sizes are read from the actor's weight shapes, and observation normalisation from its saved
 * statistics (a policy that never normalised keeps mean 0 and variance 1 exactly; a trained normaliser never
 * does). The caller says which env the policy is for, and the file must fit it. No file system here, so the
 * browser page loads a file picked by the user the same way `npm run eval` loads one from disk.
 */

import { decodeSafetensors, type SafetensorsTensor } from '../nn/safetensors.ts';
import { loadModuleFromSafetensors } from '../nn/serialize.ts';
import { Rng } from '../tensor/index.ts';
import { ActorCritic } from './actor-critic.ts';
import { actionSize, isDiscrete, type RlActionSpace } from './vector-env.ts';

/** What the policy must fit: the env's observation size and action space. */
export interface PolicyShape {
  observationSize: number;
  actionSpace: RlActionSpace;
}

export interface PolicyFile {
  policy: ActorCritic;
  /** The file's string metadata (the CLI writes algorithm and update; the web page adds envId and more). */
  metadata: Record<string, string>;
}

/** Decodes safetensors bytes into a policy for `shape`; `source` (a file name) is quoted in errors. */
export function policyFromSafetensors(bytes: Uint8Array, shape: PolicyShape, source: string): PolicyFile {
  const { tensors } = decodeSafetensors(bytes, source);
  const fail = (why: string): Error => new Error(`${source} is not a policy for this env: ${why}`);
  const layers = actorLayerShapes(tensors);
  if (layers.length === 0) {
    throw fail(
      `it holds no actor.<i>.weight tensors (found ${Object.keys(tensors).join(', ') || 'none'}); ` +
        'expected a policy.safetensors written by npm run train or the web page',
    );
  }
  const inputs = layers[0]![0];
  if (inputs !== shape.observationSize) {
    throw fail(`its first layer takes ${inputs} observation values, the env gives ${shape.observationSize}`);
  }
  const outputs = layers[layers.length - 1]![1];
  const discrete = isDiscrete(shape.actionSpace);
  const expected = discrete ? (shape.actionSpace as { n: number }).n : actionSize(shape.actionSpace);
  const continuousFile = 'logStd' in tensors;
  if (continuousFile === discrete || outputs !== expected) {
    throw fail(
      `it has ${outputs} action outputs${continuousFile ? ' and a logStd (continuous)' : ' and no logStd (discrete)'}; ` +
        `the env expects ${expected} ${discrete ? 'discrete actions' : 'continuous action values'}`,
    );
  }
  const policy = new ActorCritic({
    observationSize: inputs,
    actionSpace: shape.actionSpace,
    hiddenSizes: layers.slice(0, -1).map(([, out]) => out),
    initialLogStd: 0,
    normalizeObservations: normalises(tensors),
    rng: new Rng(0),
  });
  return { policy, metadata: loadModuleFromSafetensors(policy, bytes, source) };
}

/** [inputs, outputs] of actor.0, actor.1, ... in order, stopping at the first missing index. */
function actorLayerShapes(tensors: Record<string, SafetensorsTensor>): [number, number][] {
  const shapes: [number, number][] = [];
  for (let i = 0; ; i++) {
    const weight = tensors[`actor.${i}.weight`];
    if (weight === undefined || weight.shape.length !== 2) return shapes;
    shapes.push([weight.shape[0]!, weight.shape[1]!]);
  }
}

/** True unless the saved statistics are exactly the untouched ones (mean 0, variance 1). */
function normalises(tensors: Record<string, SafetensorsTensor>): boolean {
  const mean = tensors.obsMean?.data;
  const variance = tensors.obsVar?.data;
  if (mean === undefined || variance === undefined) return false;
  return mean.some((m) => m !== 0) || variance.some((v) => v !== 1);
}
