import { PassThrough } from 'node:stream';
import { createLogger } from './index';

function capture(secrets: string[], json = true, level = 'debug') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ service: 'test', level, json, secrets, stream });
  return { logger, lines };
}

describe('logger', () => {
  it('writes JSON lines with the service name in production mode', () => {
    const { logger, lines } = capture([]);
    logger.info('hello', { n: 1 });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'info', message: 'hello', service: 'test', n: 1 });
    expect(entry.timestamp).toEqual(expect.any(String));
  });

  it('drops entries below the level without reading them, in children too', () => {
    const { logger, lines } = capture([], true, 'warn');
    let reads = 0;
    const costly = { get detail() { reads++; return 'x'; } };
    logger.info('not written', costly);
    logger.child({ updateId: 1 }).debug('not written either', costly);
    logger.child({ updateId: 2 }).warn('written', { n: 2 });
    const { warn } = logger;
    warn('written too', { unbound: true });
    expect(reads).toBe(0);
    expect(lines.map((line) => JSON.parse(line) as { message: string; updateId?: number })).toEqual([
      expect.objectContaining({ message: 'written', updateId: 2, n: 2, level: 'warn' }),
      expect.objectContaining({ message: 'written too', level: 'warn', unbound: true }),
    ]);
  });

  it('scrubs configured secrets from messages, nested metadata and errors', () => {
    const secret = 's3cr3t-registration-token';
    const { logger, lines } = capture([secret]);
    logger.warn(`call failed with ${secret}`, {
      nested: { deep: [`Bearer ${secret}`] },
      err: new Error(`GET https://host/path?token=${secret} failed`),
    });
    const text = lines.join('\n');
    expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(JSON.parse(lines[0]!).err.message).toBe('GET https://host/path?token=[redacted] failed');
  });

  it('scrubs Telegram bot tokens even when not configured, e.g. inside Bot API URLs', () => {
    // Built at run time so no token-shaped string sits in the repository.
    const token = `${'123456789'}:${'AAHdqTcvCH1vGWJx'}${'fSeofSAs0K5PALDsaw'}`;
    const { logger, lines } = capture([]);
    logger.error(`request to https://api.telegram.org/bot${token}/sendMessage failed`);
    expect(lines.join('\n')).not.toContain(token);
  });

  it('redacts values of secret-named keys', () => {
    const { logger, lines } = capture([]);
    logger.info('meta', { authorization: 'Bearer abc', token: 'xyz', other: 'kept' });
    const entry = JSON.parse(lines[0]!);
    expect(entry.authorization).toBe('[redacted]');
    expect(entry.token).toBe('[redacted]');
    expect(entry.other).toBe('kept');
  });

  it('writes readable text outside production, still scrubbed', () => {
    const { logger, lines } = capture(['hunter22'], false);
    logger.child({ component: 'grpc' }).info('password is hunter22');
    expect(lines[0]).toContain('[test/grpc]');
    expect(lines[0]).not.toContain('hunter22');
  });
});
