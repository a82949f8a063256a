import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { errorMessage } from '@dwld/errors';

/**
 * The migrated database that test databases are cloned from. `pnpm test` (scripts/dwld.mjs)
 * creates it and applies the migrations before any test runs.
 */
export const TEST_TEMPLATE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/dwld_test';

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

function adminUrl(templateUrl: string): { admin: string; template: string } {
  const url = new URL(templateUrl);
  const template = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = '/postgres';
  return { admin: url.toString(), template };
}

async function withAdmin<T>(templateUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl(templateUrl).admin });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable for tests: ${errorMessage(err)}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database with the schema applied, cloned from the migrated template in a few
 * milliseconds, so each test file has its own and files can run in parallel.
 */
export async function createTestDatabase(templateUrl = TEST_TEMPLATE_URL): Promise<TestDatabase> {
  const { template } = adminUrl(templateUrl);
  const name = `${template}_${randomBytes(5).toString('hex')}`;
  await withAdmin(templateUrl, async (client) => {
    // Two clones of one template at the same instant can collide ("source database is being
    // accessed by other users"); a short retry settles it.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
        return;
      } catch (err) {
        const message = errorMessage(err);
        if (attempt >= 50 || !/being accessed by other users/.test(message)) {
          throw new Error(`Could not create a test database from "${template}" (has \`pnpm db:migrate\` run on it?): ${message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
  });
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withAdmin(templateUrl, async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
