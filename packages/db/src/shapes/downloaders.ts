import type { Downloader, Prisma } from '../generated/prisma/client';
import { TableShape, type TableColumns } from './table';

/** Every column of `downloaders` (owner: the registry), by the Downloader field it holds: see LINK_COLUMNS. */
export const DOWNLOADER_COLUMNS = {
  id: { column: 'id', type: 'int', nullable: false },
  name: { column: 'name', type: 'text', nullable: false },
  host: { column: 'host', type: 'text', nullable: false },
  port: { column: 'port', type: 'int', nullable: false },
  allowedPatterns: { column: 'allowed_patterns', type: 'text[]', nullable: false },
  registeredAt: { column: 'registered_at', type: 'timestamptz', nullable: false },
  lastSeenAt: { column: 'last_seen_at', type: 'timestamptz', nullable: false },
  lastHealthAt: { column: 'last_health_at', type: 'timestamptz', nullable: true },
  lastHealthOk: { column: 'last_health_ok', type: 'boolean', nullable: true },
  lastHealthMessage: { column: 'last_health_message', type: 'text', nullable: true },
  healthy: { column: 'healthy', type: 'boolean', nullable: false },
  updatedAt: { column: 'updated_at', type: 'timestamptz', nullable: false },
} as const satisfies TableColumns<Downloader>;

export const DOWNLOADERS = new TableShape<Downloader>('downloaders', DOWNLOADER_COLUMNS);

/**
 * A downloader as routing and calling it need it: its name and address, the hosts it takes
 * (`patterns`, the row's allowed_patterns) and its health. What the scheduler routes with,
 * and what downloader.changed carries besides the kind of change.
 */
export interface DownloaderRoute {
  name: string;
  host: string;
  port: number;
  patterns: string[];
  healthy: boolean;
}

/** The row fields a route is made of. */
const ROUTE_FIELDS = ['name', 'host', 'port', 'allowedPatterns', 'healthy'] as const;

/** A route as the row stores it (patterns as allowedPatterns); health aside, what a registration writes. */
export type DownloaderRouteRow = Pick<Downloader, (typeof ROUTE_FIELDS)[number]>;

const ROUTE = DOWNLOADERS.pick(ROUTE_FIELDS);

/** For Prisma reads of the routing list: `findMany({ select: DOWNLOADER_ROUTE_SELECT })`. */
export const DOWNLOADER_ROUTE_SELECT = { name: true, host: true, port: true, allowedPatterns: true, healthy: true } as const satisfies { [F in keyof DownloaderRouteRow]: true };

/** The route of a row (any row that has the route's fields: a whole Downloader too). */
export function routeOf(row: DownloaderRouteRow): DownloaderRoute {
  return { name: row.name, host: row.host, port: row.port, patterns: row.allowedPatterns, healthy: row.healthy };
}

/** The row fields of a route (a registration: health aside). */
export function routeRowOf(route: Omit<DownloaderRoute, 'healthy'>): Pick<Downloader, 'name' | 'host' | 'port' | 'allowedPatterns'> {
  return { name: route.name, host: route.host, port: route.port, allowedPatterns: route.patterns };
}

/** `json_build_object(…)` of one `downloaders` row's route fields, for a statement that reads the routing list with other things. */
export function downloaderRouteJson(alias?: string): Prisma.Sql {
  return ROUTE.json(alias);
}

/** The routes of a `json_agg` of downloaderRouteJson() objects, checked. */
export function routesFromJson(text: string): DownloaderRoute[] {
  return ROUTE.readJsonArray(text).map(routeOf);
}
