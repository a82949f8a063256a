// The messages of proto/*.proto as TypeScript sees them once loaded with the options in
// ./proto.ts (keepCase, defaults, int64 as number). Keep in step with the .proto files.

export interface RegisterDownloaderRequest {
  serverName: string;
  allowedRootLinks: string[];
  serverHost: string;
  serverPort: number;
}

export interface SetToQueueRequest {
  link: string;
  userName: string;
  /** Absent (not 0) when no limit is asked for: the field has presence on the wire. */
  maxQuality?: number;
}

export interface Task {
  link: string;
  status: string;
  maxQuantity: string;
  name?: string;
  message?: string;
}

export interface OnWork {
  link: string;
  filename: string;
  moveTo: string;
  targetQuantity: number;
  procentage: number;
  status: string;
  currentSize: number;
  totalSize: number;
  message: string;
}

export interface SetToQueueResponse {
  linksInWork: Task[];
}

export interface DeleteFromQueueRequest {
  link: string;
}

export interface DeleteFromQueueResponse {
  linksInWork: Task[];
}

export interface CleanHistoryResponse {
  history: Task[];
}

export interface StatusResponse {
  linksInWork: OnWork[];
  sensors: string;
}

export interface HistoryResponse {
  queue: Task[];
}

export interface HealtheckResponse {
  message?: string;
}

// google.protobuf.Empty
export type Empty = Record<string, never>;

/** Every rpc of grpc.v1.Downloader with its request and response. */
export interface DownloaderRpcs {
  SetToQueue: [SetToQueueRequest, SetToQueueResponse];
  DeleteFromQueue: [DeleteFromQueueRequest, DeleteFromQueueResponse];
  CleanHistory: [Empty, CleanHistoryResponse];
  Status: [Empty, StatusResponse];
  Queue: [Empty, HistoryResponse];
  Healtheck: [Empty, HealtheckResponse];
}
export type DownloaderMethod = keyof DownloaderRpcs;
