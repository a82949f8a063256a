import { InternalError } from '@dwld/errors';
import { createTestDatabase, type TestDatabase } from '@dwld/testkit';
import { connectDatabase, Prisma, type Database, type Link, type Sql } from '../index';
import { DISPATCHES } from './dispatches';
import { DOWNLOADERS, downloaderRouteJson, routeOf, routeRowOf, routesFromJson } from './downloaders';
import { LINKS, linkFromRow } from './links';
import { OUTBOX } from './outbox';
import type { TableShape } from './table';

/** How information_schema names each shape type. */
function informationSchemaType(type: unknown): string {
  if (typeof type !== 'string') return `USER-DEFINED ${(type as { name: string }).name.replace(/"/g, '')}`;
  return { int: 'integer int4', bigint: 'bigint int8', text: 'text text', boolean: 'boolean bool', timestamptz: 'timestamp with time zone timestamptz', 'text[]': 'ARRAY _text' }[type]!;
}

describe('table shapes (real PostgreSQL, migrated schema)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let sql: Sql;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ({ db, sql } = connectDatabase(testDb.url, { poolSize: 2 }));
  });
  afterAll(async () => {
    await db.$disconnect();
    await testDb.drop();
  });
  beforeEach(async () => {
    await db.link.deleteMany();
    await db.downloader.deleteMany();
  });

  // The compiler ties each shape to Prisma's model (fields, types, nullability); this ties it to
  // the table the migrations made: a column renamed, added, dropped or retyped fails here.
  it.each([['links', LINKS], ['dispatches', DISPATCHES], ['downloaders', DOWNLOADERS], ['event_outbox', OUTBOX]] as unknown as Array<[string, TableShape<unknown>]>)('names every column of %s as the migrated table has it', async (table, shape) => {
    const columns = await sql.rows<{ column_name: string; type: string; is_nullable: string }>(Prisma.sql`
      SELECT column_name, data_type || ' ' || udt_name AS type, is_nullable
        FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table}`);
    const actual = columns.map((c) => `${c.column_name}: ${c.type}${c.is_nullable === 'YES' ? ' null' : ''}`).sort();
    const expected = Object.values(shape.columns as Record<string, { column: string; type: unknown; nullable: boolean }>)
      // Prisma makes list columns without NOT NULL, and reads them as never null.
      .map((spec) => `${spec.column}: ${informationSchemaType(spec.type)}${spec.nullable || spec.type === 'text[]' ? ' null' : ''}`)
      .sort();
    expect(actual).toEqual(expected);
    expect(shape.table).toBe(table);
  });

  async function aLink(extra: Partial<Link> = {}): Promise<Link> {
    return db.link.create({
      data: {
        url: `https://example.com/${Math.random()}`, host: 'example.com', chatId: 9_007_199_254_740_993n, userId: -1_001_234_567_890n,
        username: 'ann', quality: '720', sendAt: new Date('2026-11-27T12:00:00.123Z'), firstFailedAt: new Date('2026-11-27T11:00:00.456Z'), ...extra,
      },
    });
  }

  it('reads a whole row, from node-postgres or from JSON, exactly as Prisma reads it', async () => {
    const link = await aLink({ status: 'failed', cardPending: true, lastError: 'x' });
    const [row] = await sql.rows(Prisma.sql`SELECT ${LINKS.all().select()} FROM links WHERE id = ${link.id}::int`);
    expect(linkFromRow(row)).toEqual(link);
    const [json] = await sql.rows<{ links: string }>(Prisma.sql`SELECT json_agg(${LINKS.all().json('l')})::text AS links FROM links l`);
    expect(LINKS.all().readJsonArray(json!.links)).toEqual([link]);
  });

  it('writes values, arrays and assignments cast to their columns', async () => {
    const fields = LINKS.pick(['url', 'host', 'chatId', 'userId', 'quality', 'sendAt', 'status', 'messageId']);
    const one = { url: 'https://a.example/1', host: 'a.example', chatId: 9_007_199_254_740_993n, userId: '-5', quality: 'max', sendAt: new Date('2026-01-01T00:00:00.001Z'), status: 'failed' as const, messageId: null };
    const [inserted] = await sql.rows<{ id: number }>(Prisma.sql`INSERT INTO links (${fields.columns()}, updated_at) VALUES (${fields.values(one)}, now()) RETURNING id`);
    expect(await db.link.findUniqueOrThrow({ where: { id: inserted!.id } })).toMatchObject({ ...one, userId: -5n });

    const many = [{ ...one, url: 'https://a.example/2', messageId: 7 }, { ...one, url: 'https://a.example/3', chatId: '12' }];
    await sql.rows(Prisma.sql`INSERT INTO links (${fields.columns()}, updated_at) SELECT *, now() FROM unnest(${fields.arrays(many)}) AS i(${fields.columns()})`);
    expect(await db.link.findMany({ where: { url: { in: ['https://a.example/2', 'https://a.example/3'] } }, orderBy: { url: 'asc' }, select: { chatId: true, messageId: true, status: true } })).toEqual([
      { chatId: 9_007_199_254_740_993n, messageId: 7, status: 'failed' },
      { chatId: 12n, messageId: null, status: 'failed' },
    ]);

    const changes = LINKS.pick(['attempts', 'lastError', 'firstFailedAt']);
    await sql.rows(Prisma.sql`UPDATE links SET ${changes.set({ attempts: 3, lastError: null, firstFailedAt: new Date('2026-02-02T00:00:00Z') })} WHERE id = ${inserted!.id}::int`);
    expect(await db.link.findUniqueOrThrow({ where: { id: inserted!.id } })).toMatchObject({ attempts: 3, lastError: null, firstFailedAt: new Date('2026-02-02T00:00:00Z') });
  });

  it('maps a downloader row to its route and back, from Prisma or JSON', async () => {
    const now = new Date();
    const row = await db.downloader.create({ data: { ...routeRowOf({ name: 'nas', host: '10.0.0.5', port: 50051, patterns: ['youtube.com', '*'] }), registeredAt: now, lastSeenAt: now } });
    const route = { name: 'nas', host: '10.0.0.5', port: 50051, patterns: ['youtube.com', '*'], healthy: true };
    expect(routeOf(row)).toEqual(route);
    const [json] = await sql.rows<{ routes: string }>(Prisma.sql`SELECT json_agg(${downloaderRouteJson()})::text AS routes FROM downloaders`);
    expect(routesFromJson(json!.routes)).toEqual([route]);
    expect(routesFromJson('[]')).toEqual([]);
  });

  it('refuses a row that does not fit, naming the field', () => {
    const good = { id: 1, url: 'u', host: 'h', chatId: '1', userId: '2', username: null, ownerName: null, quality: 'max', folder: null, replyMessageId: null, messageId: null, sendAt: '2026-01-01T00:00:00+00:00', attempts: 0, lastError: null, lastErrorKind: null, lastErrorReason: null, firstFailedAt: null, unconfirmedDownloader: null, cardPending: false, status: 'queued', claimOwner: null, claimExpiresAt: null, urgentEventId: null, createdAt: new Date(), updatedAt: new Date() };
    expect(linkFromRow(good)).toMatchObject({ chatId: 1n, userId: 2n, sendAt: new Date('2026-01-01T00:00:00Z') });
    const { chatId: _gone, ...missing } = good;
    for (const [bad, field] of [
      [missing, 'chatId'],
      [{ ...good, chatId: 1 }, 'chatId'],
      [{ ...good, chatId: '1e3' }, 'chatId'],
      [{ ...good, chatId: '' }, 'chatId'],
      [{ ...good, id: '1' }, 'id'],
      [{ ...good, attempts: 1.5 }, 'attempts'],
      [{ ...good, url: null }, 'url'],
      [{ ...good, sendAt: 'yesterday' }, 'sendAt'],
      [{ ...good, status: 'lost' }, 'status'],
      [{ ...good, cardPending: 'false' }, 'cardPending'],
    ] as const) {
      expect(() => linkFromRow(bad)).toThrow(InternalError);
      expect(() => linkFromRow(bad)).toThrow(new RegExp(`^links row: ${field} `));
    }
    expect(() => linkFromRow(null)).toThrow(InternalError);
    expect(() => LINKS.all().readJsonArray('{}')).toThrow(InternalError);
    expect(() => routesFromJson('[{"name":"x","host":"h","port":1,"allowedPatterns":[1],"healthy":true}]')).toThrow(/allowedPatterns/);
  });
});
