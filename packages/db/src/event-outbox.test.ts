import { createTestDatabase, waitFor, type TestDatabase } from '@dwld/testkit';
import { EventOutbox, type OutboxRow } from './event-outbox';
import { connectDatabase, Prisma, type Database, type Sql } from './index';

describe('EventOutbox (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let sql: Sql;
  let outbox: EventOutbox;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ({ db, sql } = connectDatabase(testDb.url, { poolSize: 4 }));
    outbox = new EventOutbox(sql);
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });
  beforeEach(() => sql.rows(Prisma.sql`DELETE FROM event_outbox`));

  const entry = (n: number) => ({ eventId: `dispatch.result:${n}:1`, type: 'dispatch.result', version: 1, data: JSON.stringify({ n }) });
  /** Makes every row old enough for a sweep that waits minAgeMs. */
  const age = (ms: number) => sql.rows(Prisma.sql`UPDATE event_outbox SET created_at = created_at - ${ms}::int * interval '1 millisecond'`);

  it('writes rows and reads them back as they were written, oldest first', async () => {
    const written = await outbox.add([entry(1), entry(2)]);
    expect(written.map((r) => [typeof r.id, r.eventId, r.type, r.version, r.data])).toEqual([
      ['bigint', 'dispatch.result:1:1', 'dispatch.result', 1, '{"n":1}'],
      ['bigint', 'dispatch.result:2:1', 'dispatch.result', 1, '{"n":2}'],
    ]);
    expect(written[0]!.createdAt).toBeInstanceOf(Date);
    let seen: OutboxRow[] = [];
    expect(await outbox.drain(10, 0, async (rows) => void (seen = rows))).toBe(2);
    expect(seen).toEqual(written);
    expect(await outbox.count()).toBe(0);
  });

  it('leaves every row when publishing fails, for the next sweep', async () => {
    await outbox.add([entry(1), entry(2)]);
    await expect(outbox.drain(10, 0, async () => {
      throw new Error('Redis is down');
    })).rejects.toThrow('Redis is down');
    expect(await outbox.count()).toBe(2);
    expect(await outbox.drain(10, 0, async () => undefined)).toBe(2);
    expect(await outbox.count()).toBe(0);
  });

  it('takes only rows older than the grace its writers have, at most a batch', async () => {
    await outbox.add([entry(1), entry(2), entry(3)]);
    expect(await outbox.drain(10, 60_000, async () => undefined)).toBe(0);
    await age(120_000);
    const batches: string[][] = [];
    const publish = async (rows: OutboxRow[]) => void batches.push(rows.map((r) => r.eventId));
    expect(await outbox.drain(2, 60_000, publish)).toBe(2);
    expect(await outbox.drain(2, 60_000, publish)).toBe(1);
    expect(batches).toEqual([['dispatch.result:1:1', 'dispatch.result:2:1'], ['dispatch.result:3:1']]);
  });

  it('shares rows between concurrent sweeps: none is published twice', async () => {
    await outbox.add(Array.from({ length: 6 }, (_, i) => entry(i)));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first: string[] = [];
    const second: string[] = [];
    // The first sweep holds its rows (as a slow XADD would) while the second one runs.
    const slow = outbox.drain(3, 0, async (rows) => {
      first.push(...rows.map((r) => r.eventId));
      await held;
    });
    await waitFor(() => first.length > 0, { what: 'the first sweep to hold its rows', interval: 5 });
    await outbox.drain(10, 0, async (rows) => void second.push(...rows.map((r) => r.eventId)));
    release();
    await slow;
    expect(first).toHaveLength(3);
    expect(second).toHaveLength(3);
    expect(new Set([...first, ...second]).size).toBe(6);
    expect(await outbox.count()).toBe(0);
  });

  it('removes published rows by id, counting only what it deleted', async () => {
    const written = await outbox.add([entry(1), entry(2)]);
    expect(await outbox.remove([written[0]!.id])).toBe(1);
    expect(await outbox.remove([written[0]!.id, written[1]!.id])).toBe(1);
    expect(await outbox.remove([])).toBe(0);
  });
});

