/**
 * A PPO policy's actor in PyTorch's layout, so it loads as it is into a `torch.nn.Sequential` with
 * `load_state_dict`. Our `Linear` stores W as [in, out] (y = x·W + b); PyTorch's `nn.Linear` holds
 * [out, in] (y = x·Wᵀ + b), so each weight is transposed, and the names are the Sequential's: `0.weight`,
 * `0.bias`, `2.weight`, ... (the activations between the Linears hold no parameters but take an index).
 *
 * The Sequential takes raw observations. Where the policy normalises them, (x - mean) / sqrt(var + 1e-8)
 * clipped to ±10, the normalisation is two layers in front of the actor: a diagonal `Linear(obs, obs)`
 * (weight 1 / sqrt(var + 1e-8), bias -mean / sqrt(var + 1e-8)) and `Hardtanh(-10, 10)`. The clip comes
 * between the normalisation and the actor's first layer, so it cannot be folded into that layer.
 *
 * The file's metadata says how to build the Sequential and read an action from it:
 *   layers       JSON list of [class name in torch.nn, ...constructor arguments], e.g.
 *                [["Linear", 8, 64], ["Tanh"], ["Linear", 64, 4]]
 *   action       'argmax' (discrete: the greedy action is the argmax of the logits) or 'mean' (continuous:
 *                the Gaussian mean, clipped to [action_low, action_high])
 *   action_low, action_high, log_std   JSON lists, continuous policies only
 */
import { encodeSafetensors, type SafetensorsTensor } from '../nn/index.ts';
import { type ActorCritic, OBSERVATION_CLIP } from './actor-critic.ts';

/** The file written beside `policy.safetensors` in every checkpoint folder. */
export const TORCH_POLICY_FILE = 'policy.torch.safetensors';

/** The epsilon `ActorCritic.normalizeObservations` adds to the variance. */
const NORMALIZE_EPS = 1e-8;

const TORCH_ACTIVATIONS: Record<string, string | null> = {
  identity: null,
  tanh: 'Tanh',
  relu: 'ReLU',
  sigmoid: 'Sigmoid',
  silu: 'SiLU',
};

export interface TorchPolicy {
  /** The Sequential's state dict: `<index>.weight` [out, in] and `<index>.bias` [out]. */
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** The policy's greedy actor as a `torch.nn.Sequential` state dict and the layers that build it. */
export function torchPolicy(policy: ActorCritic): TorchPolicy {
  const tensors: Record<string, SafetensorsTensor> = {};
  const layers: (string | number | boolean)[][] = [];
  if (policy.normalizesObservations) {
    const n = policy.observationSize;
    const weight = new Float32Array(n * n);
    const bias = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const scale = 1 / Math.sqrt(policy.obsVar.data[j]! + NORMALIZE_EPS);
      weight[j * n + j] = scale;
      bias[j] = -policy.obsMean.data[j]! * scale;
    }
    tensors[`${layers.length}.weight`] = { shape: [n, n], data: weight };
    tensors[`${layers.length}.bias`] = { shape: [n], data: bias };
    layers.push(['Linear', n, n]);
    layers.push(['Hardtanh', -OBSERVATION_CLIP, OBSERVATION_CLIP]);
  }
  for (const layer of policy.actor.layers) {
    const { inFeatures: inF, outFeatures: outF } = layer;
    const w = layer.weight.data;
    const transposed = new Float32Array(inF * outF);
    for (let i = 0; i < inF; i++) {
      for (let o = 0; o < outF; o++) transposed[o * inF + i] = w[i * outF + o]!;
    }
    tensors[`${layers.length}.weight`] = { shape: [outF, inF], data: transposed };
    if (layer.bias) tensors[`${layers.length}.bias`] = { shape: [outF], data: layer.bias.data.slice() };
    layers.push(layer.bias ? ['Linear', inF, outF] : ['Linear', inF, outF, false]);
    const activation = TORCH_ACTIVATIONS[layer.activation];
    if (activation === undefined) {
      throw new Error(`torchPolicy: activation '${layer.activation}' has no torch.nn equivalent here`);
    }
    if (activation) layers.push([activation]);
  }
  const metadata: Record<string, string> = {
    format: 'torch.nn.Sequential',
    layers: JSON.stringify(layers),
    action: policy.discrete ? 'argmax' : 'mean',
  };
  if (!policy.discrete) {
    const space = policy.actionSpace as { low: ArrayLike<number>; high: ArrayLike<number> };
    metadata.action_low = JSON.stringify(Array.from(space.low));
    metadata.action_high = JSON.stringify(Array.from(space.high));
    metadata.log_std = JSON.stringify(Array.from(policy.logStd!.data));
  }
  return { tensors, metadata };
}

/** `torchPolicy` encoded as one safetensors file (bytes; `writeFileAtomic` puts it on disk). */
export function torchPolicySafetensors(
  policy: ActorCritic,
  metadata: Record<string, string> = {},
): Uint8Array {
  const exported = torchPolicy(policy);
  return encodeSafetensors(exported.tensors, { ...metadata, ...exported.metadata });
}
