import { z } from 'zod';
import { deadLetterKey, decodeEntry, defineEvent, encodeEntry, EventValidationError, streamKey } from './event-def';
import { linkAdded } from './catalogue';

const ping = defineEvent('test.ping', 2, z.object({ n: z.number().int(), note: z.string().default('none') }));

describe('defineEvent', () => {
  it('rejects malformed types and versions', () => {
    expect(() => defineEvent('Bad Type', 1, z.object({}))).toThrow(/Invalid event type/);
    expect(() => defineEvent('ok', 0, z.object({}))).toThrow(/Invalid version/);
    expect(() => defineEvent('ok', 1.5, z.object({}))).toThrow(/Invalid version/);
  });

  it('names the stream and its dead-letter stream after the type', () => {
    expect(streamKey('dwld', ping)).toBe('dwld:test.ping');
    expect(streamKey('dwld', 'link.added')).toBe('dwld:link.added');
    expect(deadLetterKey('dwld', ping)).toBe('dwld:test.ping:dead');
  });
});

describe('encodeEntry / decodeEntry', () => {
  it('round-trips a payload, applying the schema on the way in', () => {
    const fields = encodeEntry(ping, { n: 3 }, 'evt-1', 1_700_000_000_000);
    expect(fields).toEqual({ id: 'evt-1', v: '2', at: '1700000000000', data: '{"n":3,"note":"none"}' });
    const decoded = decodeEntry(ping, { ...fields });
    expect(decoded).toEqual({ ok: true, eventId: 'evt-1', publishedAt: new Date(1_700_000_000_000), payload: { n: 3, note: 'none' } });
  });

  it('refuses to encode an invalid payload, naming the path but not the value', () => {
    let error: unknown;
    try {
      encodeEntry(linkAdded, { linkId: 1, url: 'https://x', host: 'x', userId: 'secret-looking-value', chatId: '1' }, 'e', 0);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EventValidationError);
    const message = (error as EventValidationError).message;
    expect(message).toMatch(/userId/);
    expect(message).toMatch(/sendAt/);
    expect(message).not.toMatch(/secret-looking-value/);
  });

  it('takes Telegram ids only within 64 bits (PostgreSQL bigint)', () => {
    const payload = { linkId: 1, url: 'https://x', host: 'x', userId: '1', chatId: '-1001234567890', username: null, quality: '720', folder: null, sendAt: '2026-01-01T00:00:00.000Z' };
    expect(() => encodeEntry(linkAdded, { ...payload, userId: '9223372036854775807' }, 'e', 0)).not.toThrow();
    expect(() => encodeEntry(linkAdded, { ...payload, userId: '9223372036854775808' }, 'e', 0)).toThrow(/userId: expected a Telegram id within 64 bits/);
    expect(() => encodeEntry(linkAdded, { ...payload, chatId: '1'.repeat(30) }, 'e', 0)).toThrow(/chatId/);
  });

  const valid = { id: 'evt-1', v: '2', at: '1', data: '{"n":1}' };
  it.each([
    ['no event id', { ...valid, id: '' }, /no event id/],
    ['a missing version', { ...valid, v: 'x' }, /no valid version/],
    ['another version', { ...valid, v: '1' }, /unsupported version 1/],
    ['a bad timestamp', { ...valid, at: 'soon' }, /no valid timestamp/],
    ['data that is not JSON', { ...valid, data: '{n:1' }, /not valid JSON/],
    ['data the schema rejects', { ...valid, data: '{"n":"one"}' }, /invalid payload: n:/],
  ])('reports an entry with %s as not ok', (_what, fields, reason) => {
    const decoded = decodeEntry(ping, fields);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(reason);
  });
});
