// `pnpm events:replay <stream> [--dry-run]` (scripts/dwld.mjs events-replay runs this): puts
// the entries a consumer group set aside on `<stream>:dead` back on `<stream>`. Reads REDIS_URL
// and STREAM_PREFIX as the services do.
import { z } from 'zod';
import { Redis } from 'ioredis';
import { commonEnv, parseEnv } from '@dwld/config';
import { errorMessage } from '@dwld/errors';
import { replayDeadLetters } from './replay';

const USAGE = 'usage: pnpm events:replay <stream> [--dry-run]   (a stream is an event type, e.g. link.urgent)\n';

export async function runReplay(args: readonly string[], env: Record<string, string | undefined>, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const dryRun = args.includes('--dry-run');
  const rest = args.filter((a) => a !== '--dry-run');
  if (rest.length !== 1 || rest[0]!.startsWith('-')) {
    err(USAGE);
    return 2;
  }
  const common = commonEnv(0);
  const config = parseEnv(z.object({ REDIS_URL: common.REDIS_URL, STREAM_PREFIX: common.STREAM_PREFIX }), env);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const outcome = await replayDeadLetters(redis, config.STREAM_PREFIX, rest[0]!, { dryRun });
    for (const entry of outcome.entries) out(`${dryRun ? 'would replay' : 'replayed'} ${entry.eventId ?? '(no event id)'}${entry.error ? `: set aside because ${entry.error}` : ''}\n`);
    out(dryRun
      ? `${outcome.entries.length} entr${outcome.entries.length === 1 ? 'y' : 'ies'} in ${outcome.deadLetterStream}; nothing replayed (--dry-run)\n`
      : `${outcome.replayed} entr${outcome.replayed === 1 ? 'y' : 'ies'} moved from ${outcome.deadLetterStream} back to ${outcome.stream}\n`);
    return 0;
  } catch (e) {
    err(`replay failed: ${errorMessage(e)}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

if (require.main === module) {
  runReplay(process.argv.slice(2), process.env, (t) => process.stdout.write(t), (t) => process.stderr.write(t)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`replay failed: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}
