/**
 * A throwaway Redis server for the sweep tests: Debian's redis-server on a free port in a temporary folder,
 * persistence on (append-only file) and a password, stopped and started again on the same port and folder
 * to play a restart. `redisNote` says whether one can run (the tests skip, saying why, where not).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';
export const hasRedisServer = spawnSync(REDIS_SERVER, ['--version']).status === 0;
export const redisNote = hasRedisServer
  ? REDIS_SERVER
  : `SKIPPED: no ${REDIS_SERVER} (apt-get install redis-server, or set REDIS_SERVER_PATH)`;

/** A port nothing listens on. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class TestRedis {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly password: string,
    private readonly dir: string,
  ) {}

  static async start(dir: string, password: string): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), password, dir);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) and waits until it answers. */
  async restart(): Promise<void> {
    this.process = spawn(
      REDIS_SERVER,
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes'],
        ...['--save', '', '--requirepass', this.password, '--logfile', join(this.dir, 'redis.log')],
      ],
      { stdio: 'ignore' },
    );
    for (let tries = 0; ; tries++) {
      const client = new Redis({
        host: '127.0.0.1',
        port: this.port,
        password: this.password,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (e) {
        if (tries > 100)
          throw new Error(`redis-server on port ${this.port} did not answer: ${(e as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        client.disconnect();
      }
    }
  }

  /** Shuts the server down as an operator would (SIGTERM: it writes its append-only file and exits). */
  async stop(): Promise<void> {
    const server = this.process;
    this.process = null;
    if (!server || server.exitCode !== null) return;
    await new Promise((resolve) => {
      server.once('exit', resolve);
      server.kill('SIGTERM');
    });
  }
}
