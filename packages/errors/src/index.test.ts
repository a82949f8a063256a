import { AppError, downloaderFailureOf, DownloaderError, errorKind, errorMessage, ForbiddenError, InvalidInputError, isDownloaderFailure, LimitReachedError, NotFoundError, UnavailableError } from './index';

describe('error taxonomy', () => {
  it.each([
    [new InvalidInputError('bad'), 'invalid_input', 'InvalidInputError'],
    [new NotFoundError('gone'), 'not_found', 'NotFoundError'],
    [new ForbiddenError('no'), 'forbidden', 'ForbiddenError'],
    [new UnavailableError('down'), 'unavailable', 'UnavailableError'],
    [new LimitReachedError('too many'), 'limit_reached', 'LimitReachedError'],
  ])('%s has kind %s and its own name', (err, kind, name) => {
    expect(err).toBeInstanceOf(AppError);
    expect(errorKind(err)).toBe(kind);
    expect(err.name).toBe(name);
  });

  it('treats anything else as internal', () => {
    expect(errorKind(new Error('x'))).toBe('internal');
    expect(errorKind('x')).toBe('internal');
    expect(errorMessage('plain')).toBe('plain');
  });

  it('keeps the cause', () => {
    const cause = new Error('socket closed');
    expect(new UnavailableError('database down', { cause }).cause).toBe(cause);
  });
});

describe('downloader failures', () => {
  it.each([
    ['no_downloader', 'not_found'],
    ['unavailable', 'unavailable'],
    ['refused', 'invalid_input'],
    ['internal', 'internal'],
  ] as const)('%s is a %s error', (failure, kind) => {
    const err = new DownloaderError(failure, 'nas', 'SetToQueue', 'failed');
    expect(err).toBeInstanceOf(AppError);
    expect(errorKind(err)).toBe(kind);
    expect(downloaderFailureOf(err)).toBe(failure);
    expect(err.name).toBe('DownloaderError');
  });

  it('keeps the downloader\'s own words and what is known of the outcome', () => {
    const lost = new DownloaderError('unavailable', 'nas', 'SetToQueue', 'deadline', { answerLost: true, details: '' });
    expect([lost.answerLost, lost.outcomeUncertain, lost.details]).toEqual([true, true, undefined]);
    const unknown = new DownloaderError('internal', 'nas', 'SetToQueue', 'UNKNOWN: already', { outcomeUncertain: true, details: 'already' });
    expect([unknown.answerLost, unknown.outcomeUncertain, unknown.details]).toEqual([false, true, 'already']);
    const plain = new DownloaderError('refused', 'nas', 'SetToQueue', 'no');
    expect([plain.answerLost, plain.outcomeUncertain]).toEqual([false, false]);
  });

  it('reads a failure kind from a kind, a failure field, or nothing', () => {
    expect(downloaderFailureOf('refused')).toBe('refused');
    expect(downloaderFailureOf({ failure: 'unavailable' })).toBe('unavailable');
    expect(downloaderFailureOf({ failure: 'nonsense' })).toBe('internal');
    expect(downloaderFailureOf(new Error('x'))).toBe('internal');
    expect(isDownloaderFailure('no_downloader')).toBe(true);
    expect(isDownloaderFailure('gone')).toBe(false);
  });
});

describe('errorMessage', () => {
  it('reads an Error, a string, and anything else', () => {
    expect(errorMessage(new TypeError('bad type'))).toBe('bad type');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(null)).toBe('null');
    expect(errorMessage(Object.create(null))).toBe('[object Object]');
    expect(errorMessage({ name: 'Error', message: 'from another realm' })).toBe('from another realm');
  });
});
