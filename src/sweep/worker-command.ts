/**
 * `npm run worker -- --redis URL --store DIR [--jobs N] [--lock-seconds S]`: takes sweep trials from Redis
 * (queue-worker.ts) until stopped by SIGINT or SIGTERM; start as many as the machines have cores for.
 */
import { resolve } from 'node:path';
import { type CommandSpec, parseArgs, UsageError } from '../cli/args.ts';
import { startQueueWorker } from './queue-worker.ts';
import { checkReachable, parseRedisUrl, type RedisTarget } from './redis-connection.ts';
import { withoutPassword } from './sweep-command.ts';

export const workerSpec: CommandSpec = {
  command: 'worker',
  positionals: '',
  minPositionals: 0,
  maxPositionals: 0,
  flags: [
    {
      name: 'redis',
      type: 'string',
      help: 'the Redis server, redis://[:password@]host:port (password also from REDIS_PASSWORD)',
    },
    {
      name: 'store',
      type: 'string',
      help: "a folder every worker reaches (a shared volume): the trials' run folders",
    },
    { name: 'jobs', type: 'int', min: 1, help: 'trials at once, each in its own thread (default 1)' },
    {
      name: 'lock-seconds',
      type: 'int',
      min: 1,
      help:
        "a trial's lock without renewal: a dead worker's trial moves to another after about this long; " +
        'must outlast any Redis outage (default 60)',
    },
  ],
};

export async function workerCommand(
  argv: readonly string[],
  log: (line: string) => void = console.log,
): Promise<void> {
  const { flags } = parseArgs(argv, workerSpec);
  if (flags.redis === undefined) throw new UsageError('worker: --redis is required', workerSpec);
  if (flags.store === undefined) throw new UsageError('worker: --store is required', workerSpec);
  let target: RedisTarget | null = null;
  try {
    target = parseRedisUrl(flags.redis as string);
    await checkReachable(target);
  } catch (e) {
    throw withoutPassword(e, target);
  }
  const store = resolve(flags.store as string);
  const worker = startQueueWorker({
    target,
    store,
    jobs: (flags.jobs as number | undefined) ?? 1,
    lockSeconds: (flags['lock-seconds'] as number | undefined) ?? 60,
    log,
  });
  log(`worker ${process.pid}: taking trials from ${target.shown}, run folders under ${store}`);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log(`worker ${process.pid}: ${signal}; handing its trials back to the queue`);
      worker.stop().then(done, done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
