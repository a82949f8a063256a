import { AppError, InvalidInputError, UnavailableError } from '@dwld/errors';
import { asDatabaseError, isDatabaseUnavailable, isUniqueViolation } from './errors';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a socket error', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')],
    ['a server going away (57P01)', coded('57P01', 'terminating connection due to administrator command')],
    ['a server starting up (57P03)', coded('57P03')],
    ['a lost connection (08006)', coded('08006')],
    ['Prisma: cannot reach', coded('P1001')],
    ['Prisma: pool timeout', coded('P2024')],
    ['Prisma: initialisation', Object.assign(new Error('x'), { name: 'PrismaClientInitializationError' })],
    ["Prisma's raw query over an unreachable server", Object.assign(coded('P2010'), { meta: { driverAdapterError: Object.assign(new Error('DatabaseNotReachable'), { cause: { kind: 'DatabaseNotReachable' } }) } })],
    ["Prisma's raw query on a terminated connection", Object.assign(coded('P2010'), { meta: { driverAdapterError: Object.assign(new Error('terminating'), { cause: { kind: 'postgres', code: '57P01' } }) } })],
    ["node-postgres' uncoded lost connection", new Error('Connection terminated unexpectedly')],
    ["node-postgres' pool timeout", new Error('timeout exceeded when trying to connect')],
    ["node-postgres' query timeout (no answer in time)", new Error('Query read timeout')],
    ['a statement on a connection dropped after its query timed out', new Error('Client was closed and is not queryable')],
    ['a statement the server cancelled (statement_timeout, 57014)', coded('57014', 'canceling statement due to statement timeout')],
    ['an uncoded error that kept the words', new Error("Can't reach database server at 127.0.0.1:1")],
    ['a wrapped one', new Error('query failed', { cause: coded('ECONNRESET') })],
    ['an UnavailableError', new UnavailableError('down')],
    ['an AppError of kind unavailable', new AppError('unavailable', 'down')],
  ])('says yes to %s', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', coded('23505', 'duplicate key')],
    ['a bad query', coded('42601')],
    ['Prisma: record not found', coded('P2025')],
    ['a raw query failing on its own', Object.assign(coded('P2010'), { meta: { driverAdapterError: Object.assign(new Error('division by zero'), { cause: { kind: 'postgres', code: '22012' } }) } })],
    ['another kind of AppError', new InvalidInputError('bad')],
    ['nothing', null],
    ['a string', 'ECONNREFUSED'],
  ])('says no to %s', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('survives a cause that points back at itself', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = new Error('b', { cause: a });
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe('asDatabaseError', () => {
  it('turns an unreachable database into an UnavailableError with the same words and the cause', () => {
    const cause = coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1');
    const err = asDatabaseError(cause);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err).toMatchObject({ kind: 'unavailable', message: 'connect ECONNREFUSED 127.0.0.1:1', cause });
  });

  it('leaves any other error as it is', () => {
    const unique = coded('23505');
    expect(asDatabaseError(unique)).toBe(unique);
    expect(isUniqueViolation(asDatabaseError(unique))).toBe(true);
    const app = new UnavailableError('down');
    expect(asDatabaseError(app)).toBe(app);
  });
});
