import { InternalError } from '@dwld/errors';
import { Prisma } from '../generated/prisma/client';

/**
 * A table's shape, owned in one place: each field of the Prisma model, its column, its SQL type
 * and whether it may be null. The column list is typed against the model, so a field renamed,
 * added, retyped or made nullable in schema.prisma fails to compile here (and shapes.test.ts
 * compares the columns with the migrated table). Raw statements take their column lists, JSON
 * objects and casts from it, and read their rows back through its checked readers.
 */

/** A Prisma enum as a column type: its SQL name (quoted as SQL needs it) and every value. */
export interface SqlEnum<T extends string> {
  readonly name: string;
  readonly values: { readonly [V in T]: V };
}

/** The SQL type a field's TypeScript type calls for; never for one no shape uses yet (add it here and in readers). */
export type SqlTypeOf<T> = [T] extends [bigint]
  ? 'bigint'
  : [T] extends [Date]
    ? 'timestamptz'
    : [T] extends [number]
      ? 'int'
      : [T] extends [boolean]
        ? 'boolean'
        : [T] extends [string[]]
          ? 'text[]'
          : [T] extends [string]
            ? string extends T
              ? 'text'
              : SqlEnum<T>
            : never;

export interface ColumnSpec<T> {
  /** The column's name in the table (schema.prisma's @map, or the field's own name). */
  readonly column: string;
  readonly type: SqlTypeOf<NonNullable<T>>;
  readonly nullable: null extends T ? true : false;
}

/** Every field of `Model`, and nothing else, with its column. */
export type TableColumns<Model> = { readonly [F in keyof Model]-?: ColumnSpec<Model[F]> };

/** What a value of a field may be when it goes into a statement: bigints may come as decimal text. */
export type WireValue<T> = T extends bigint ? bigint | string : T;
export type WireRecord<Model, F extends keyof Model> = { readonly [K in F]: WireValue<Model[K]> };

type ScalarType = 'int' | 'bigint' | 'text' | 'boolean' | 'timestamptz' | 'text[]';

interface AnyColumn {
  readonly column: string;
  readonly type: ScalarType | SqlEnum<string>;
  readonly nullable: boolean;
}

export class TableShape<Model> {
  constructor(
    readonly table: string,
    readonly columns: TableColumns<Model>,
  ) {}

  /** The column of one field. */
  column(field: keyof Model): string {
    return this.columns[field].column;
  }

  /** Some of the fields, in this order: one statement's column list, and its row reader. */
  pick<const F extends keyof Model>(fields: readonly F[]): RowShape<Model, F> {
    return new RowShape(this.table, fields, this.columns as unknown as Record<F, AnyColumn>);
  }

  /** Every field, in the order the column list names them. */
  all(): RowShape<Model, keyof Model> {
    return this.pick(Object.keys(this.columns) as Array<keyof Model>);
  }
}

/** The row a RowShape reads. */
export type RowOf<S> = S extends RowShape<infer Model, infer F> ? Pick<Model, F> : never;

/**
 * A list of a table's fields as one statement reads or writes them. Its SQL fragments are text
 * the shape owns (column names), never values: values always travel as parameters.
 */
export class RowShape<Model, F extends keyof Model> {
  private readonly specs: ReadonlyArray<readonly [field: string, column: AnyColumn]>;
  private readonly readers: ReadonlyArray<readonly [field: string, read: (value: unknown) => unknown]>;

  constructor(
    readonly table: string,
    readonly fields: readonly F[],
    columns: Record<F, AnyColumn>,
  ) {
    this.specs = fields.map((field) => [String(field), columns[field]] as const);
    this.readers = this.specs.map(([field, spec]) => [field, readerOf(table, field, spec)] as const);
  }

  /** `a.chat_id, a.user_id, …`: the columns as they are named, for RETURNING or SELECT feeding more SQL. */
  columns(alias?: string): Prisma.Sql {
    return Prisma.raw(this.specs.map(([, spec]) => `${prefix(alias)}${spec.column}`).join(', '));
  }

  /** `a.chat_id AS "chatId", …`: rows named as the model names its fields. */
  select(alias?: string): Prisma.Sql {
    return Prisma.raw(this.specs.map(([field, spec]) => `${prefix(alias)}${spec.column}${spec.column === field ? '' : ` AS "${field}"`}`).join(', '));
  }

  /**
   * `json_build_object('chatId', a.chat_id::text, …)`: one JSON object per row, keyed by field.
   * Bigints travel as text (Telegram ids may pass 2^53), timestamps as JSON's ISO text.
   */
  json(alias?: string): Prisma.Sql {
    const pairs = this.specs.map(([field, spec]) => `'${field}', ${prefix(alias)}${spec.column}${spec.type === 'bigint' ? '::text' : ''}`);
    return Prisma.raw(`json_build_object(${pairs.join(', ')})`);
  }

  /** `$1::text, $2::bigint, …`: one record's values, cast to their columns' types, in field order. */
  values(record: WireRecord<Model, F>): Prisma.Sql {
    return Prisma.join(this.specs.map(([field, spec]) => Prisma.sql`${wire(spec, (record as Record<string, unknown>)[field])}::${Prisma.raw(sqlType(spec))}`));
  }

  /** `col = $1::text, …`: one record's values as an UPDATE's assignments. */
  set(record: WireRecord<Model, F>): Prisma.Sql {
    return Prisma.join(this.specs.map(([field, spec]) => Prisma.sql`${Prisma.raw(spec.column)} = ${wire(spec, (record as Record<string, unknown>)[field])}::${Prisma.raw(sqlType(spec))}`));
  }

  /**
   * `$1::text[], $2::text[]::bigint[], …`: one array per field, of many records, for
   * `unnest(…) AS i(<columns()>)`: one statement however many rows. Array columns cannot be
   * unnested this way.
   */
  arrays(records: ReadonlyArray<WireRecord<Model, F>>): Prisma.Sql {
    return Prisma.join(
      this.specs.map(([field, spec]) => {
        if (spec.type === 'text[]') throw new InternalError(`${this.table}.${spec.column} is an array: it cannot be unnested`);
        // Bigints go as text: node-postgres has no bigint array of its own.
        const cast = spec.type === 'bigint' ? 'text[]::bigint[]' : `${sqlType(spec)}[]`;
        return Prisma.sql`${records.map((record) => wire(spec, (record as Record<string, unknown>)[field]))}::${Prisma.raw(cast)}`;
      }),
    );
  }

  /**
   * The fields of one row as node-postgres returns it (select()) or as JSON (json()): checked and
   * converted to the model's types (bigint text to bigint, timestamp text to Date). A missing,
   * null-where-not-nullable or mistyped value throws an InternalError naming the field.
   */
  read(raw: unknown): Pick<Model, F> {
    if (typeof raw !== 'object' || raw === null) throw new InternalError(`${this.table} row: expected an object, got ${describe(raw)}`);
    const source = raw as Record<string, unknown>;
    const row: Record<string, unknown> = {};
    for (const [field, read] of this.readers) row[field] = read(source[field]);
    return row as Pick<Model, F>;
  }

  /** The rows of a JSON array of json() objects (`json_agg`'s text). */
  readJsonArray(text: string): Array<Pick<Model, F>> {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new InternalError(`${this.table} rows: expected a JSON array, got ${describe(parsed)}`);
    const rows = new Array<Pick<Model, F>>(parsed.length);
    for (let i = 0; i < parsed.length; i++) rows[i] = this.read(parsed[i]);
    return rows;
  }
}

function prefix(alias: string | undefined): string {
  return alias ? `${alias}.` : '';
}

function sqlType(spec: AnyColumn): string {
  return typeof spec.type === 'string' ? spec.type : spec.type.name;
}

function wire(spec: AnyColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (spec.type === 'bigint') return String(value);
  if (spec.type === 'timestamptz' && value instanceof Date) return value.toISOString();
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the text ${JSON.stringify(value.slice(0, 40))}` : typeof value;
}

const DECIMAL = /^-?\d+$/;

/**
 * One reader per column, picked once: a row is read by a plain check per field (a claim reads
 * hundreds of rows a poll; per 500 rows this costs about 0.7 ms over the unchecked spread it
 * replaced, measured).
 */
function readerOf(table: string, field: string, spec: AnyColumn): (value: unknown) => unknown {
  const wanted = spec.type === 'int' ? 'an integer' : spec.type === 'bigint' ? 'a bigint' : spec.type === 'text' ? 'text' : spec.type === 'boolean' ? 'a boolean' : spec.type === 'timestamptz' ? 'a timestamp' : spec.type === 'text[]' ? 'an array of text' : `one of ${Object.keys(spec.type.values).join(', ')}`;
  const fail = (value: unknown): never => {
    throw new InternalError(`${table} row: ${field} (${spec.column}) should be ${wanted}${spec.nullable ? ' or null' : ''}, got ${describe(value)}`);
  };
  const read = notNullReaderOf(spec.type, fail);
  return spec.nullable ? (value) => (value === null ? null : read(value)) : read;
}

function notNullReaderOf(type: AnyColumn['type'], fail: (value: unknown) => never): (value: unknown) => unknown {
  switch (type) {
    case 'int':
      return (v) => (typeof v === 'number' && Number.isInteger(v) ? v : fail(v));
    case 'bigint':
      // node-postgres and the JSON objects give int8 as decimal text.
      return (v) => (typeof v === 'string' && DECIMAL.test(v) ? BigInt(v) : typeof v === 'bigint' ? v : fail(v));
    case 'text':
      return (v) => (typeof v === 'string' ? v : fail(v));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : fail(v));
    case 'timestamptz':
      // node-postgres gives a Date, JSON an ISO text.
      return (v) => {
        const date = typeof v === 'string' ? new Date(v) : v instanceof Date ? v : undefined;
        return date !== undefined && !Number.isNaN(date.getTime()) ? date : fail(v);
      };
    case 'text[]':
      return (v) => (Array.isArray(v) && v.every((item) => typeof item === 'string') ? v : fail(v));
    default: {
      const values = type.values as Readonly<Record<string, string>>;
      return (v) => (typeof v === 'string' && Object.hasOwn(values, v) ? v : fail(v));
    }
  }
}
