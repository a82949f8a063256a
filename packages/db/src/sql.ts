import type pg from 'pg';
import { asDatabaseError } from './errors';
import type { Prisma } from './generated/prisma/client';

/**
 * Statements sent straight to node-postgres, on the pool the Prisma client uses. For a hot
 * path only: Prisma's client engine runs every call, `$queryRaw` included, through its wasm
 * query compiler, ~0.3 ms of CPU before the driver sees it: about a tenth of a scheduler's
 * CPU in the dispatch benchmark, by a CPU profile. Statements are written with `Prisma.sql`,
 * so values are always parameters. Rows come back as node-postgres reads them (int and bool
 * columns as numbers and booleans, bigint as string). An unreachable database is thrown as an
 * UnavailableError (@dwld/errors) with node-postgres's error as its cause; any other error as
 * node-postgres threw it (its SQLSTATE `code` intact).
 */
export class Sql {
  constructor(private readonly pool: pg.Pool) {}

  async rows<Row>(statement: Prisma.Sql): Promise<Row[]> {
    try {
      const result = await this.pool.query(statement.text, statement.values);
      return result.rows as Row[];
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  /**
   * One statement in its own transaction, after `settings` (fixed `SET LOCAL …` text, sent with
   * BEGIN in one round trip) that hold for that transaction only.
   */
  async rowsWithSettings<Row>(settings: string, statement: Prisma.Sql): Promise<Row[]> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw asDatabaseError(err);
    });
    let unusable: Error | undefined;
    try {
      await client.query(`BEGIN; ${settings}`);
      const result = await client.query(statement.text, statement.values);
      await client.query('COMMIT');
      return result.rows as Row[];
    } catch (err) {
      // Back to a clean connection for the next caller; one that cannot even roll back is dropped.
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (unusable = rollbackErr));
      throw asDatabaseError(err);
    } finally {
      client.release(unusable);
    }
  }

  /**
   * Several statements in one transaction on one connection, committed when `work` resolves and
   * rolled back when it throws. For work that must hold row locks across something outside the
   * database (the outbox relay publishes while its rows stay locked): keep it short.
   */
  async transaction<T>(work: (tx: Pick<Sql, 'rows'>) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw asDatabaseError(err);
    });
    let unusable: Error | undefined;
    try {
      await client.query('BEGIN');
      const tx = {
        rows: async <Row>(statement: Prisma.Sql): Promise<Row[]> => (await client.query(statement.text, statement.values)).rows as Row[],
      };
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (unusable = rollbackErr));
      throw asDatabaseError(err);
    } finally {
      client.release(unusable);
    }
  }
}
