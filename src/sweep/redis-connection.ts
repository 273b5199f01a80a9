/**
 * The Redis server a distributed sweep runs through: `--redis redis://[[user]:password@]host[:port][/db]`
 * (rediss:// for TLS), the password from the URL or else from REDIS_PASSWORD. The password is never
 * printed: the address is shown without it, and any message that might quote it has it masked. A bad URL,
 * an unreachable server or a refused password is a usage error (exit 2).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { UsageError } from '../cli/args.ts';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  /** The address as it may be printed: no password. */
  shown: string;
}

const EXPECTED = 'redis://[[user]:password@]host[:port][/db] (or rediss:// for TLS)';

/** `url` parsed; `env` supplies REDIS_PASSWORD when the URL has none. */
export function parseRedisUrl(url: string, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--redis: '${maskCredentials(url)}' is not a URL; expected ${EXPECTED}`);
  }
  const shownInput = maskCredentials(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(`--redis: '${shownInput}' has scheme '${parsed.protocol}'; expected ${EXPECTED}`);
  }
  if (parsed.hostname === '')
    throw new UsageError(`--redis: '${shownInput}' names no host; expected ${EXPECTED}`);
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isSafeInteger(db) || db < 0) {
    throw new UsageError(`--redis: '${shownInput}' has database '${dbText}'; expected a number >= 0`);
  }
  const password =
    parsed.password !== '' ? decodeURIComponent(parsed.password) : env.REDIS_PASSWORD || undefined;
  const username = parsed.username !== '' ? decodeURIComponent(parsed.username) : undefined;
  const hostPort = `${parsed.hostname}:${port}`;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username,
    password,
    tls: parsed.protocol === 'rediss:',
    shown: `${parsed.protocol}//${username ? `${username}@` : ''}${hostPort}${db ? `/${db}` : ''}`,
  };
}

/**
 * A URL-like text with its user and password masked: anything from '//' to the last '@' before the next
 * space, so a password holding '@' or '/' (unencoded, in a URL that does not parse) is masked whole.
 */
function maskCredentials(text: string): string {
  return text.replace(/\/\/\S*@/g, '//***@');
}

/** `text` with the target's password masked wherever it appears. */
export function hidePassword(text: string, target: RedisTarget | null): string {
  const masked = maskCredentials(text);
  const password = target?.password;
  return password ? masked.split(password).join('***') : masked;
}

/**
 * ioredis options for the target: commands wait for a lost connection to come back rather than fail (BullMQ
 * asks this of a worker's connection), so a restarted Redis pauses a sweep instead of ending it.
 */
export function connectionOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

/** Connects once and pings, within `timeoutMs`; a usage error (password masked) when that fails. */
export async function checkReachable(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const client = new Redis({
    ...connectionOptions(target),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The connection's own error (ECONNREFUSED, WRONGPASS) comes as an event; connect() then only says it closed.
  let cause: Error | null = null;
  client.on('error', (e: Error) => {
    cause ??= e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const reason = (cause ?? (e as Error)).message;
    throw new UsageError(
      `--redis: cannot use the Redis server at ${target.shown}: ${hidePassword(reason, target)}`,
    );
  } finally {
    client.disconnect();
  }
}
