// One call for the CLI and training code: a vector env of a registered id, in this thread or in workers.
import { type EnvId, optionsForId } from './make-env.ts';
import type { LunarLanderOptions } from './options.ts';
import { SyncVectorEnv, type VectorEnv } from './vector.ts';
import { WorkerVectorEnv } from './worker-vector.ts';

export interface MakeVectorEnvOptions {
  numEnvs: number;
  envOptions?: LunarLanderOptions;
  /** Clip continuous actions to [-1, 1] (see VectorEnvOptions.clipActions). Default false. */
  clipActions?: boolean;
  /**
   * false (default): step every copy in this thread. true: worker threads, one per core (up to numEnvs).
   * A number: that many threads, the main thread included.
   */
  threads?: boolean | number;
}

export async function makeVectorEnv(id: EnvId, options: MakeVectorEnvOptions): Promise<VectorEnv> {
  const envOptions = optionsForId(id, options.envOptions);
  const common = { numEnvs: options.numEnvs, envOptions, clipActions: options.clipActions ?? false };
  const threads = options.threads ?? false;
  if (threads === false) return new SyncVectorEnv(common);
  return WorkerVectorEnv.create(threads === true ? common : { ...common, numThreads: threads });
}
