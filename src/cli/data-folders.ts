/**
 * Collected data folders (`npm run collect`) read back for model fitting and reports: each folder's
 * buffer and meta.json, checked to come from one kind of lander, and split into training and validation
 * rows by episode, with episode ids kept distinct across folders.
 */
import { join } from 'node:path';
import {
  bufferTransitions,
  type EpisodeTransitions,
  joinTransitions,
  type ModelActionSpace,
  ReplayBuffer,
} from '../rl/world-model/index.ts';
import type { CollectMeta } from './collect.ts';
import { readJson } from './run-folder.ts';

export interface DataFolder {
  dir: string;
  meta: CollectMeta;
  buffer: ReplayBuffer;
}

export interface LoadedData {
  folders: DataFolder[];
  /** Discrete ({ n: 4 }) or continuous ({ size: 2 }), from the folders' env. */
  actionSpace: ModelActionSpace;
  /** The lander all folders come from, without wind (`LunarLander-v3` or `LunarLanderContinuous-v3`). */
  continuous: boolean;
}

/** Reads every folder; all must hold the same kind of lander (discrete or continuous). */
export function loadDataFolders(dirs: readonly string[]): LoadedData {
  if (dirs.length === 0) throw new Error('data: no data folder given');
  const folders = dirs.map((dir) => {
    const meta = readJson<CollectMeta>(join(dir, 'meta.json'), `data ${dir}`);
    const buffer = ReplayBuffer.load(join(dir, 'buffer.safetensors'), { observationSize: 8 });
    return { dir, meta, buffer };
  });
  const continuous = folders[0]!.meta.actionSize !== 1;
  for (const f of folders) {
    if ((f.meta.actionSize !== 1) !== continuous) {
      throw new Error(
        `data: ${f.dir} holds ${f.meta.envId} transitions but ${folders[0]!.dir} holds ${folders[0]!.meta.envId}; ` +
          'a model fits one kind of lander',
      );
    }
  }
  return { folders, continuous, actionSpace: continuous ? { size: 2 } : { n: 4 } };
}

/** Every row of every folder, episode ids made distinct (folder k's ids shifted past folder k-1's). */
export function allTransitions(data: LoadedData): EpisodeTransitions {
  let offset = 0;
  const parts = data.folders.map((f) => {
    const part = bufferTransitions(f.buffer, undefined, offset);
    offset += f.buffer.episodesStarted;
    return part;
  });
  return joinTransitions(parts);
}

/** Training and validation rows: each folder split by episode with `seed`, then joined. */
export function splitTransitions(
  data: LoadedData,
  validationFraction: number,
  seed: number,
): { train: EpisodeTransitions; validation: EpisodeTransitions } {
  let offset = 0;
  const train: EpisodeTransitions[] = [];
  const validation: EpisodeTransitions[] = [];
  for (const f of data.folders) {
    const split = f.buffer.splitByEpisode(validationFraction, seed);
    train.push(bufferTransitions(f.buffer, split.train, offset));
    validation.push(bufferTransitions(f.buffer, split.validation, offset));
    offset += f.buffer.episodesStarted;
  }
  return { train: joinTransitions(train), validation: joinTransitions(validation) };
}
