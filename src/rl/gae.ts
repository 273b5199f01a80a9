/**
 * Generalised advantage estimation (Schulman et al. 2016, "High-dimensional continuous control using
 * generalized advantage estimation", eq. 16):
 *   delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t)
 *   A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
 * over a rollout stored time-major, [steps, envs]. `terminated` ends the return (no bootstrap);
 * a time-limit truncation is not an ending of the task, so its return is bootstrapped from the value of the
 * final observation (`truncatedValues`), while the recursion still stops there because the next stored
 * step belongs to a new episode.
 */
export interface GaeInput {
  steps: number;
  envs: number;
  rewards: Float32Array;
  values: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** V(final observation) where `truncated` is set; ignored elsewhere. */
  truncatedValues: Float32Array;
  /** V(s_T) for the observation after the last stored step, per env. */
  lastValues: Float32Array;
  gamma: number;
  lambda: number;
}

export interface GaeOutput {
  advantages: Float32Array;
  returns: Float32Array;
}

export function computeGae(input: GaeInput, out?: GaeOutput): GaeOutput {
  const { steps, envs, rewards, values, terminated, truncated, truncatedValues, lastValues, gamma, lambda } =
    input;
  const size = steps * envs;
  for (const [name, arr] of [
    ['rewards', rewards],
    ['values', values],
    ['terminated', terminated],
    ['truncated', truncated],
    ['truncatedValues', truncatedValues],
  ] as const) {
    if (arr.length !== size)
      throw new Error(`computeGae: ${name} has ${arr.length} entries, expected ${steps}x${envs}`);
  }
  if (lastValues.length !== envs)
    throw new Error(`computeGae: lastValues has ${lastValues.length}, expected ${envs}`);
  // A trainer passes its own `out` buffers, so an update allocates no rollout-sized arrays here.
  const advantages = out?.advantages ?? new Float32Array(size);
  const returns = out?.returns ?? new Float32Array(size);
  if (advantages.length !== size || returns.length !== size) {
    throw new Error(
      `computeGae: out buffers have ${advantages.length} and ${returns.length} entries, expected ${steps}x${envs}`,
    );
  }
  for (let e = 0; e < envs; e++) {
    let next = 0;
    for (let t = steps - 1; t >= 0; t--) {
      const i = t * envs + e;
      let nextValue: number;
      let carry: number;
      if (terminated[i]) {
        nextValue = 0;
        carry = 0;
      } else if (truncated[i]) {
        nextValue = truncatedValues[i]!;
        carry = 0;
      } else {
        nextValue = t === steps - 1 ? lastValues[e]! : values[i + envs]!;
        carry = 1;
      }
      const delta = rewards[i]! + gamma * nextValue - values[i]!;
      next = delta + gamma * lambda * carry * next;
      advantages[i] = next;
      returns[i] = next + values[i]!;
    }
  }
  return { advantages, returns };
}
