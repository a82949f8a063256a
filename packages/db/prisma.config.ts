// Prisma CLI configuration: Prisma 6.19 with its JS (wasm) schema engine, which drives
// migrations through @prisma/adapter-pg, so nothing is downloaded from outside the npm
// registry. Three upstream problems of adapter-pg 6.19 get in the way of migrations; each
// workaround below names the issue it works around. See ../../docs/ARCHITECTURE.md.
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { defineConfig } from 'prisma/config';

const root = path.resolve(__dirname, '../..');

// Workaround 1 (prisma/prisma#27403, "Column type 'name' could not be deserialized"):
// the schema engine introspects pg_catalog columns of types the adapter cannot map
// (name, "char", regclass, oidvector…). Their values arrive as text anyway, so we report
// those columns to the adapter as text.
const CATALOG_TYPES_AS_TEXT = new Set([18, 19, 22, 24, 27, 28, 29, 30, 194, 1033, 2202, 2203, 2204, 2205, 2206, 3220, 3734, 3769, 4089, 4096, 4191]);
const TEXT_OID = 25;
const TEXT_ARRAY_OID = 1009;
const NAME_ARRAY_OID = 1003;

function reportCatalogTypesAsText<R>(result: R): R {
  const fields = (result as { fields?: Array<{ dataTypeID: number }> } | undefined)?.fields;
  for (const field of fields ?? []) {
    if (CATALOG_TYPES_AS_TEXT.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    else if (field.dataTypeID === NAME_ARRAY_OID) field.dataTypeID = TEXT_ARRAY_OID;
  }
  return result;
}

class CatalogAsTextClient extends pg.Client {
  // pg's own overloads are too many to restate; the wrapper only post-processes the result.
  override query(...args: unknown[]): any {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) => (last as (e: unknown, r: unknown) => void)(err, err ? res : reportCatalogTypesAsText(res));
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    return out && typeof (out as Promise<unknown>).then === 'function' ? (out as Promise<unknown>).then(reportCatalogTypesAsText) : out;
  }
}

// Workaround 2 (P3006 "… already exists"): adapter-pg opens the shadow database with
// `{ ...config, database }`, but a connectionString wins over `database`, so the shadow
// pool hit the main database. Giving host/port/user/password/database as fields fixes it.
function poolConfig(databaseUrl: string): pg.PoolConfig {
  const url = new URL(databaseUrl);
  return {
    host: decodeURIComponent(url.hostname) || undefined,
    port: url.port ? Number(url.port) : undefined,
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
    ssl: url.searchParams.get('sslmode') === 'require' ? { rejectUnauthorized: false } : undefined,
    Client: CatalogAsTextClient,
  };
}

// Workaround 3 ("database prisma_migrate_shadow_db_… is being accessed by other users"):
// adapter-pg drops the shadow database before closing its pool. We close the pool first and
// drop with FORCE.
class MigrationAdapterFactory extends PrismaPg {
  constructor(private readonly poolSettings: pg.PoolConfig) {
    super(poolSettings);
  }

  override async connectToShadowDb() {
    const main = await this.connect();
    const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...this.poolSettings, database }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}

export default defineConfig({
  engine: 'js',
  experimental: { adapter: true },
  schema: path.join(root, 'prisma/schema.prisma'),
  migrations: { path: path.join(root, 'prisma/migrations') },
  async adapter() {
    const databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) throw new Error('DATABASE_URL is required to run migrations');
    return new MigrationAdapterFactory(poolConfig(databaseUrl));
  },
});
