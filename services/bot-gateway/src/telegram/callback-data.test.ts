import fc from 'fast-check';
import { CALLBACK_DATA_MAX_BYTES, decodeCallbackData, encodeCallbackData, type CallbackAction } from './callback-data';

describe('callback data', () => {
  it.each<[CallbackAction, string]>([
    [{ kind: 'quality', linkId: 123, quality: '720' }, 'q:123:720'],
    [{ kind: 'quality', linkId: 0, quality: 'max' }, 'q:0:max'],
    [{ kind: 'folder', linkId: 9, folderIndex: 0 }, 'f:9:0'],
    [{ kind: 'remove', linkId: Number.MAX_SAFE_INTEGER }, 'r:9007199254740991'],
    [{ kind: 'remove-listed', linkId: 12 }, 'x:12'],
    [{ kind: 'retry', linkId: 13 }, 't:13'],
    [{ kind: 'filter', status: 'retrying' }, 's:retrying'],
    [{ kind: 'clean', confirmed: true }, 'c:y'],
    [{ kind: 'clean', confirmed: false }, 'c:n'],
    [{ kind: 'noop' }, 'n'],
  ])('encodes %j as %s and back', (action, data) => {
    expect(encodeCallbackData(action)).toBe(data);
    expect(decodeCallbackData(data)).toEqual(action);
  });

  it.each([
    ['', 'empty'],
    ['z:1', 'an unknown prefix'],
    ['Q:1:720', 'an upper-case prefix'],
    ['q:1', 'a missing quality'],
    ['q:1:720:9', 'an extra part'],
    ['q:1:7', 'a one-digit quality'],
    ['q:1:123456', 'a six-digit quality'],
    ['q:1:MAX', 'an upper-case max'],
    ['q:-1:720', 'a negative id'],
    ['q:01:720', 'a leading zero'],
    ['q:1.5:720', 'a fractional id'],
    ['q:1e3:720', 'an exponent'],
    ['q: 1:720', 'a space'],
    ['q:9007199254740992:720', 'an unsafe id'],
    ['f:1', 'a missing folder index'],
    ['f:1:x', 'a non-numeric folder index'],
    ['r:1:2', 'an extra part on remove'],
    ['r:', 'an empty id'],
    ['x:1:2', 'an extra part on a listed remove'],
    ['x:-1', 'a negative listed id'],
    ['t:', 'a retry without an id'],
    ['t:1:2', 'an extra part on a retry'],
    ['s:done', 'an unknown status'],
    ['s:', 'an empty status'],
    ['n:', 'an extra part on noop'],
    ['c:', 'an empty clean answer'],
    ['c:yes', 'a clean answer other than y or n'],
    ['c:y:1', 'an extra part on clean'],
    [`q:1:${'9'.repeat(70)}`, 'over 64 bytes'],
  ])('rejects %s (%s)', (data) => {
    expect(decodeCallbackData(data)).toBeNull();
  });

  it.each([undefined, null, 42, {}, ['q', '1', '720']])('rejects the non-string %p', (data) => {
    expect(decodeCallbackData(data)).toBeNull();
  });

  it.each<[string, unknown]>([
    ['a negative id', { kind: 'remove', linkId: -1 }],
    ['a fractional id', { kind: 'remove', linkId: 1.5 }],
    ['an unsafe id', { kind: 'folder', linkId: 2 ** 53, folderIndex: 0 }],
    ['a bad quality', { kind: 'quality', linkId: 1, quality: '720p' }],
    ['a quality with a colon', { kind: 'quality', linkId: 1, quality: '72:0' }],
    ['an unknown status', { kind: 'filter', status: 'done' }],
    ['an unknown kind', { kind: 'launch' }],
    ['a clean answer that is not a boolean', { kind: 'clean', confirmed: 'yes' }],
  ])('refuses to encode %s', (_, action) => {
    expect(() => encodeCallbackData(action as CallbackAction)).toThrow(RangeError);
  });

  const actionArbitrary: fc.Arbitrary<CallbackAction> = fc.oneof(
    fc.record({ kind: fc.constant('quality' as const), linkId: fc.maxSafeNat(), quality: fc.oneof(fc.stringMatching(/^\d{2,5}$/), fc.constant('max')) }),
    fc.record({ kind: fc.constant('folder' as const), linkId: fc.maxSafeNat(), folderIndex: fc.maxSafeNat() }),
    fc.record({ kind: fc.constant('remove' as const), linkId: fc.maxSafeNat() }),
    fc.record({ kind: fc.constant('remove-listed' as const), linkId: fc.maxSafeNat() }),
    fc.record({ kind: fc.constant('retry' as const), linkId: fc.maxSafeNat() }),
    fc.record({ kind: fc.constant('filter' as const), status: fc.constantFrom('queued' as const, 'retrying' as const, 'failed' as const) }),
    fc.record({ kind: fc.constant('clean' as const), confirmed: fc.boolean() }),
    fc.constant({ kind: 'noop' as const }),
  );

  it('decodes what it encodes, within 64 bytes', () => {
    fc.assert(
      fc.property(actionArbitrary, (action) => {
        const data = encodeCallbackData(action);
        expect(Buffer.byteLength(data, 'utf8')).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
        expect(decodeCallbackData(data)).toEqual(action);
      }),
    );
  });

  it('never throws on arbitrary strings, and re-encodes whatever it accepts to the same string', () => {
    const nearMiss = fc.tuple(fc.constantFrom('q', 'f', 'r', 's', 'c', 'n', 'x', 'z'), fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.nat().map(String)), { maxLength: 3 }));
    const dataArbitrary = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      nearMiss.map(([prefix, parts]) => [prefix, ...parts].join(':')),
    );
    fc.assert(
      fc.property(dataArbitrary, (data) => {
        const action = decodeCallbackData(data);
        if (action !== null) expect(encodeCallbackData(action)).toBe(data);
      }),
      { numRuns: 500 },
    );
  });
});
