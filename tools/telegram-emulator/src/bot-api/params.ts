import { badRequest } from './api-error';

/**
 * A method's parameters, read the way Telegram reads them: the same field may arrive as a JSON
 * value (application/json) or as a string (query string, urlencoded or multipart form), where
 * numbers, booleans and nested objects such as reply_markup are spelled out as text.
 */
export class Params {
  constructor(readonly values: Readonly<Record<string, unknown>>) {}

  has(name: string): boolean {
    const value = this.values[name];
    return value !== undefined && value !== null && value !== '';
  }

  /** A string field; numbers are accepted as their decimal text, as Telegram does. */
  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw badRequest(`field "${name}" must be of type String`);
  }

  /** An integer field, or undefined when absent; `invalid` describes the error for a non-integer. */
  integer(name: string, invalid = `field "${name}" must be of type Integer`): number | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(number)) throw badRequest(invalid);
    return number;
  }

  boolean(name: string): boolean | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1' || value === 1) return true;
    if (value === 'false' || value === '0' || value === 0) return false;
    throw badRequest(`field "${name}" must be of type Boolean`);
  }

  /** An object or array field, parsed from JSON text when it came form- or query-encoded. */
  json(name: string, invalid = `can't parse ${name} JSON object`): unknown {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw badRequest(invalid);
    }
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
