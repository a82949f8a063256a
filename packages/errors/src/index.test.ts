import { AppError, errorKind, errorMessage, ForbiddenError, InvalidInputError, NotFoundError, UnavailableError } from './index';

describe('error taxonomy', () => {
  it.each([
    [new InvalidInputError('bad'), 'invalid_input', 'InvalidInputError'],
    [new NotFoundError('gone'), 'not_found', 'NotFoundError'],
    [new ForbiddenError('no'), 'forbidden', 'ForbiddenError'],
    [new UnavailableError('down'), 'unavailable', 'UnavailableError'],
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
