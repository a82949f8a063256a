import * as grpc from '@grpc/grpc-js';
import { downloaderService, GrpcStatusError, unary, type DownloaderHandlers, type DownloaderMethod, type OnWork, type Task } from '@dwld/contract';
import {
  GO_EMPTY_REQUEST_ERROR,
  GO_FILENAME_UNKNOWN,
  GO_HEALTHECK_MESSAGE,
  GO_UNIQUE_ERROR,
  goDownloadCompleteMessage,
  goDownloadFailedMessage,
  goQualityLimit,
  type GoStatus,
} from './go-facts';

/** One row of the Go downloader's `links` table (migration/20250628001939_create_links.sql), plus the pretend download's progress. */
export interface GoRow {
  link: string;
  userName: string;
  /**
   * `target_quality`: the maxQuality sent, as is (0 when absent, 4320, even -1), until the
   * download starts; from then on the height of the file being downloaded.
   */
  targetQuality: number;
  status: GoStatus;
  /** `COMING SOON` until the download starts. */
  filename: string;
  /** NULL (absent from Task) until the download starts. */
  message: string | null;
  /** Progress of the download in WORK, 0–100. */
  percent: number;
}

/** What became of one call. */
export type GoCallOutcome =
  | 'ok'
  /** SetToQueue: inserted. */
  | 'queued'
  /** SetToQueue: the link was already held (unique-constraint error). */
  | 'duplicate'
  /** SetToQueue: empty link. */
  | 'empty'
  /** Answered with an error injected by failNext/alwaysFail. */
  | 'failed'
  /** DeleteFromQueue: the row was there and is gone. */
  | 'deleted'
  /** DeleteFromQueue: no such row (the Go one answers as for a deletion). */
  | 'absent';

/** One call as received, for assertions ("held once", "called N times"). */
export interface GoCall {
  /** Date.now() at arrival. */
  at: number;
  method: DownloaderMethod;
  /** SetToQueue and DeleteFromQueue only. */
  link?: string;
  /** SetToQueue only. */
  userName?: string;
  /** SetToQueue only, and only when the caller sent one (the field has presence). */
  maxQuality?: number;
  outcome: GoCallOutcome;
  /** The error details answered (code UNKNOWN), when the outcome is an error. */
  error?: string;
  /** False for a call whose reply was lost (loseReplies). */
  replied: boolean;
}

export interface GoDownloaderOptions {
  /**
   * When set, every task moves one status every `workMs` (NEW → WORK → TO_SEND → [SENDING →]
   * DONE), as advanceAll() does. Without it only advance()/advanceAll() move tasks, so tests
   * drive it without sleeping.
   */
  workMs?: number;
  /** Pass through SENDING between TO_SEND and DONE (the Go downloader copying to storage); default false. */
  sending?: boolean;
  /** Height of every pretend video (default 1080): a download gets the highest usual height up to its quality limit. */
  videoHeight?: number;
  /** Size of every pretend file in MB (the Go one reports MB); default 100. */
  fileSizeMb?: number;
  /** `moveTo` of a file in WORK (its config's workPath); default /downloads. */
  workDir?: string;
  /** `moveTo` of a file in SENDING; default /storage. */
  sendDir?: string;
  /** Status.sensors (the Go one runs `sensors`); default an lm-sensors reading. */
  sensors?: string;
  /** Details of the unique-constraint error; default GO_UNIQUE_ERROR (HEAD's wording). */
  uniqueErrorText?: string;
  /** The clock (ms) progress in timed mode is measured with. */
  now?: () => number;
}

export const DEFAULT_SENSORS = 'coretemp-isa-0000\nAdapter: ISA adapter\nPackage id 0:  +47.0°C  (high = +80.0°C, crit = +100.0°C)\nCore 0:        +45.0°C  (high = +80.0°C, crit = +100.0°C)\n';

const USUAL_HEIGHTS = [144, 240, 360, 480, 720, 1080, 1440, 2160, 4320];
const ORDER: readonly GoStatus[] = ['NEW', 'WORK', 'TO_SEND', 'SENDING', 'DONE'];

interface Held {
  release: () => void;
}

/**
 * The deployed Go downloader's grpc.v1.Downloader as state and handlers (no sockets: serve
 * `handlers()` with @dwld/contract's serveDownloader, or use startGoDownloader). Facts it keeps
 * (see go-facts.ts): the queue is unique by link and a second SetToQueue of a held link answers
 * UNKNOWN; every error is UNKNOWN with a text; SetToQueue, DeleteFromQueue and CleanHistory all
 * answer with every row left in the table; Queue returns DONE rows until CleanHistory.
 */
export class GoDownloader {
  private readonly table = new Map<string, GoRow>();
  private log: GoCall[] = [];
  private readonly failures = new Map<DownloaderMethod, { count: number; text: string }>();
  private readonly standingFailures = new Map<DownloaderMethod, string>();
  private repliesToLose = 0;
  private readonly held = new Set<Held>();
  private timer: NodeJS.Timeout | undefined;
  private readonly startedWork = new Map<string, number>();
  private sequence = 0;
  private readonly fileNumbers = new Map<string, number>();
  protected readonly options: GoDownloaderOptions;
  private readonly now: () => number;

  constructor(options: GoDownloaderOptions = {}) {
    if (options.workMs !== undefined && !(options.workMs > 0)) throw new RangeError('workMs must be positive');
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  // ---- the wire ----

  handlers(): DownloaderHandlers {
    return {
      SetToQueue: async (request, call) => {
        const base = { at: Date.now(), method: 'SetToQueue' as const, link: request.link, userName: request.userName, ...(request.maxQuality === undefined ? {} : { maxQuality: request.maxQuality }) };
        const injected = this.takeFailure('SetToQueue');
        if (injected !== undefined) {
          this.record({ ...base, outcome: 'failed', error: injected, replied: true });
          throw goError(injected);
        }
        const lose = this.repliesToLose > 0;
        if (lose) this.repliesToLose -= 1;
        let outcome: GoCallOutcome;
        let error: string | undefined;
        if (!request.link) {
          outcome = 'empty';
          error = GO_EMPTY_REQUEST_ERROR;
        } else if (this.table.has(request.link)) {
          outcome = 'duplicate';
          error = this.options.uniqueErrorText ?? GO_UNIQUE_ERROR;
        } else {
          outcome = 'queued';
          this.insert(request.link, request.userName, request.maxQuality ?? 0);
        }
        this.record({ ...base, outcome, ...(error === undefined ? {} : { error }), replied: !lose });
        if (lose) return this.hold(call);
        if (error !== undefined) throw goError(error);
        return { linksInWork: this.tasks() };
      },
      DeleteFromQueue: async (request) => {
        const failed = this.failIfInjected('DeleteFromQueue', { link: request.link });
        if (failed) throw failed;
        const deleted = this.table.delete(request.link);
        this.startedWork.delete(request.link);
        this.record({ at: Date.now(), method: 'DeleteFromQueue', link: request.link, outcome: deleted ? 'deleted' : 'absent', replied: true });
        return { linksInWork: this.tasks() };
      },
      CleanHistory: async () => {
        const failed = this.failIfInjected('CleanHistory');
        if (failed) throw failed;
        for (const row of [...this.table.values()]) if (row.status === 'DONE') this.table.delete(row.link);
        this.record({ at: Date.now(), method: 'CleanHistory', outcome: 'ok', replied: true });
        // As the Go one: the rows left after deleting the DONE ones, not the deleted ones.
        return { history: this.tasks() };
      },
      Status: async () => {
        const failed = this.failIfInjected('Status');
        if (failed) throw failed;
        this.record({ at: Date.now(), method: 'Status', outcome: 'ok', replied: true });
        return { linksInWork: this.onWork(), sensors: this.options.sensors ?? DEFAULT_SENSORS };
      },
      Queue: async () => {
        const failed = this.failIfInjected('Queue');
        if (failed) throw failed;
        this.record({ at: Date.now(), method: 'Queue', outcome: 'ok', replied: true });
        return { queue: this.tasks() };
      },
      Healtheck: async () => {
        const failed = this.failIfInjected('Healtheck');
        if (failed) throw failed;
        this.record({ at: Date.now(), method: 'Healtheck', outcome: 'ok', replied: true });
        return { message: GO_HEALTHECK_MESSAGE };
      },
    };
  }

  // ---- what it holds ----

  /** Every row as Task, in insertion order (what Queue and SetToQueue answer). */
  tasks(): Task[] {
    return [...this.table.values()].map(toTask);
  }

  /** Every row, copied. */
  rows(): GoRow[] {
    return [...this.table.values()].map((row) => ({ ...row }));
  }

  /** One row, copied; undefined when the link is not held. */
  row(link: string): GoRow | undefined {
    const row = this.table.get(link);
    return row ? { ...row } : undefined;
  }

  /** The status of a held link; undefined when not held. */
  statusOf(link: string): GoStatus | undefined {
    return this.table.get(link)?.status;
  }

  /** What Status answers: one OnWork per file in WORK (and in SENDING). */
  onWork(): OnWork[] {
    const out: OnWork[] = [];
    const size = this.options.fileSizeMb ?? 100;
    for (const row of this.table.values()) {
      if (row.status === 'WORK') {
        const percent = this.percentOf(row);
        out.push({
          link: row.link,
          filename: row.filename,
          moveTo: this.options.workDir ?? '/downloads',
          targetQuantity: row.targetQuality,
          procentage: percent,
          status: 'WORK',
          currentSize: round2((size * percent) / 100),
          totalSize: size,
          message: row.message ?? '',
        });
      } else if (row.status === 'SENDING') {
        out.push({
          link: row.link,
          filename: row.filename,
          moveTo: this.options.sendDir ?? '/storage',
          targetQuantity: row.targetQuality,
          procentage: 100,
          status: 'SENDING',
          currentSize: size,
          totalSize: size,
          message: row.message ?? '',
        });
      }
    }
    return out;
  }

  // ---- driving the lifecycle ----

  /**
   * Moves one link one status on: NEW → WORK (the download starts: file name, real height,
   * message) → TO_SEND (done downloading) → SENDING (only with `sending`) → DONE. Returns the
   * new status, or undefined when the link is not held; DONE stays DONE.
   */
  advance(link: string): GoStatus | undefined {
    const row = this.table.get(link);
    if (!row) return undefined;
    switch (row.status) {
      case 'NEW':
        this.startWork(row);
        break;
      case 'WORK':
        row.status = 'TO_SEND';
        row.percent = 100;
        row.message = goDownloadCompleteMessage();
        this.startedWork.delete(link);
        break;
      case 'TO_SEND':
        row.status = this.options.sending ? 'SENDING' : 'DONE';
        break;
      case 'SENDING':
        row.status = 'DONE';
        break;
      case 'DONE':
        break;
    }
    return row.status;
  }

  /** Moves every held link one status on (see advance). */
  advanceAll(): void {
    for (const link of [...this.table.keys()]) this.advance(link);
  }

  /** Moves a link on until it reaches `status` (or DONE); returns its status, undefined when not held. */
  advanceTo(link: string, status: GoStatus): GoStatus | undefined {
    for (let i = 0; i < ORDER.length; i += 1) {
      const now = this.table.get(link)?.status;
      if (now === undefined || now === status || now === 'DONE') return now;
      this.advance(link);
    }
    return this.table.get(link)?.status;
  }

  /** The download of a link in WORK reports `percent` (0–100). */
  setProgress(link: string, percent: number): boolean {
    const row = this.table.get(link);
    if (!row || row.status !== 'WORK') return false;
    row.percent = Math.max(0, Math.min(100, percent));
    return true;
  }

  /**
   * A download that failed every stage: the row goes back to NEW with the reason in its message
   * (the Go one then tries it again by itself; it has no failed status). False when not held or
   * not in NEW/WORK.
   */
  failDownload(link: string, reason = 'ERROR: Unsupported URL'): boolean {
    const row = this.table.get(link);
    if (!row || (row.status !== 'NEW' && row.status !== 'WORK')) return false;
    row.status = 'NEW';
    row.percent = 0;
    row.message = goDownloadFailedMessage(reason);
    this.startedWork.delete(link);
    return true;
  }

  /** What its start does to the table: every WORK back to NEW (persistent.NewSQLRepo). */
  workToNew(): void {
    for (const row of this.table.values()) {
      if (row.status === 'WORK') {
        row.status = 'NEW';
        this.startedWork.delete(row.link);
      }
    }
  }

  /** Starts the `workMs` timer, when one is configured (startGoDownloader does this). */
  startWorking(): void {
    const { workMs } = this.options;
    if (workMs === undefined || this.timer) return;
    this.timer = setInterval(() => this.advanceAll(), workMs);
    this.timer.unref();
  }

  stopWorking(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  // ---- faults ----

  /** The next `count` calls of `method` (default SetToQueue) answer UNKNOWN with `text`; nothing is inserted. */
  failNext(count: number, text: string, method: DownloaderMethod = 'SetToQueue'): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a whole number');
    if (count === 0) this.failures.delete(method);
    else this.failures.set(method, { count, text });
  }

  /** Every call of `method` (default SetToQueue) answers UNKNOWN with `text` until clearFaults(). failNext counts go first. */
  alwaysFail(text: string, method: DownloaderMethod = 'SetToQueue'): void {
    this.standingFailures.set(method, text);
  }

  /**
   * The next `count` SetToQueue calls are carried out (the link is inserted, or the duplicate
   * refused) and then never answered: the caller's deadline expires. Held until the caller gives
   * up, or released on stop. A call failed by failNext/alwaysFail is answered and not counted.
   */
  loseReplies(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a whole number');
    this.repliesToLose = count;
  }

  /** No injected failures or lost replies any more (calls being held stay held). */
  clearFaults(): void {
    this.failures.clear();
    this.standingFailures.clear();
    this.repliesToLose = 0;
  }

  /** Calls whose reply is being held back now. */
  heldReplies(): number {
    return this.held.size;
  }

  /** Settles every held call (its answer goes nowhere once the caller has given up). */
  releaseHeld(): void {
    for (const held of [...this.held]) held.release();
  }

  // ---- the call log ----

  /** Every call received, oldest first; only those of `method` when given. */
  calls(method?: DownloaderMethod): GoCall[] {
    return this.log.filter((c) => method === undefined || c.method === method).map((c) => ({ ...c }));
  }

  /** How many SetToQueue calls carried this link (whatever their outcome). */
  setToQueueCount(link: string): number {
    return this.log.filter((c) => c.method === 'SetToQueue' && c.link === link).length;
  }

  clearCalls(): void {
    this.log = [];
  }

  /** Empty table, no calls, no faults. */
  reset(): void {
    this.table.clear();
    this.startedWork.clear();
    this.fileNumbers.clear();
    this.clearCalls();
    this.clearFaults();
  }

  // ---- inside ----

  private insert(link: string, userName: string, targetQuality: number): void {
    this.sequence += 1;
    this.fileNumbers.set(link, this.sequence);
    this.table.set(link, { link, userName, targetQuality, status: 'NEW', filename: GO_FILENAME_UNKNOWN, message: null, percent: 0 });
  }

  private startWork(row: GoRow): void {
    const limit = goQualityLimit(row.targetQuality);
    const videoHeight = this.options.videoHeight ?? 1080;
    const available = [...USUAL_HEIGHTS.filter((h) => h < videoHeight), videoHeight];
    const height = available.filter((h) => h <= limit).pop() ?? available[0]!;
    const width = Math.round((height * 16) / 9);
    row.status = 'WORK';
    row.targetQuality = height;
    row.filename = `video ${this.fileNumbers.get(row.link) ?? 0} [4:13].mp4`;
    row.message = `downloading [137 - ${width}x${height} (${height}p)+251 - audio only (medium)]`;
    row.percent = 0;
    this.startedWork.set(row.link, this.now());
  }

  private percentOf(row: GoRow): number {
    const started = this.startedWork.get(row.link);
    const { workMs } = this.options;
    if (workMs === undefined || started === undefined || row.percent > 0) return row.percent;
    return round2(Math.min(99.9, ((this.now() - started) / workMs) * 100));
  }

  private takeFailure(method: DownloaderMethod): string | undefined {
    const counted = this.failures.get(method);
    if (counted) {
      counted.count -= 1;
      if (counted.count <= 0) this.failures.delete(method);
      return counted.text;
    }
    return this.standingFailures.get(method);
  }

  private failIfInjected(method: DownloaderMethod, fields: { link?: string } = {}): GrpcStatusError | undefined {
    const text = this.takeFailure(method);
    if (text === undefined) return undefined;
    this.record({ at: Date.now(), method, ...fields, outcome: 'failed', error: text, replied: true });
    return goError(text);
  }

  private record(call: GoCall): void {
    this.log.push(call);
  }

  /** Never answers: settles when the caller gives up (deadline, cancel) or on releaseHeld. */
  private hold(call: grpc.ServerUnaryCall<unknown, unknown>): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      const held: Held = {
        release: () => {
          this.held.delete(held);
          call.removeListener('cancelled', held.release);
          reject(goError('the reply was lost'));
        },
      };
      this.held.add(held);
      if (call.cancelled) held.release();
      else call.on('cancelled', held.release);
    });
  }
}

/** What the Go one answers for any error: code UNKNOWN (grpc-go's for a plain error) with its text. */
export function goError(text: string): GrpcStatusError {
  return new GrpcStatusError(grpc.status.UNKNOWN, text);
}

function toTask(row: GoRow): Task {
  // response.TasksToLinks / LinkToTask: maxQuantity is strconv.Itoa(target_quality), name is the
  // file name (not the user name), message absent while NULL.
  return {
    link: row.link,
    status: row.status,
    maxQuantity: String(row.targetQuality),
    name: row.filename,
    ...(row.message === null ? {} : { message: row.message }),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export interface StartGoDownloaderOptions extends GoDownloaderOptions {
  /** Where it listens; default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
}

/** A Go-faithful downloader serving on a port, with its test controls (see GoDownloader). */
export class RunningGoDownloader extends GoDownloader {
  private server: grpc.Server | undefined;
  private boundPort = 0;

  constructor(private readonly listen: StartGoDownloaderOptions = {}) {
    super(listen);
  }

  /** The port it serves on (kept across down()/up()). */
  get port(): number {
    return this.boundPort;
  }

  /** host:port to dial it at. */
  get address(): string {
    const host = this.listen.host ?? '127.0.0.1';
    const dial = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    return dial.includes(':') ? `[${dial}]:${this.boundPort}` : `${dial}:${this.boundPort}`;
  }

  isUp(): boolean {
    return this.server !== undefined;
  }

  /** Starts serving (on the same port again after down()). */
  async up(): Promise<void> {
    if (this.server) return;
    const server = new grpc.Server();
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(this.handlers())) implementation[method] = unary(handler as never);
    server.addService(downloaderService(), implementation);
    const host = this.listen.host ?? '127.0.0.1';
    const wanted = this.boundPort || this.listen.port || 0;
    const target = `${host.includes(':') ? `[${host}]` : host}:${wanted}`;
    // The port just given up by down() may take a moment to be free again.
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.boundPort = await new Promise<number>((resolve, reject) =>
          server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
        );
        break;
      } catch (err) {
        if (wanted === 0 || attempt >= 50) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    this.server = server;
    this.startWorking();
  }

  /**
   * Stops serving (callers then see UNAVAILABLE; calls held by loseReplies are cut) and keeps
   * the table, the log and the port for up().
   */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.stopWorking();
    if (server) {
      // As a Go process stopping: callers are told the connection is going away (so their next
      // call opens a new one); calls held open by loseReplies are cut, never answered.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), this.heldReplies() > 0 ? 0 : 200);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    this.releaseHeld();
  }

  /** A restart of the Go process: down, every WORK back to NEW, up on the same port. */
  async restart(): Promise<void> {
    await this.down();
    this.workToNew();
    await this.up();
  }

  /** Stops serving for good; held replies are released. */
  stop(): Promise<void> {
    return this.down();
  }
}

/** Starts a Go-faithful downloader on `host:port` (default 127.0.0.1, any free port). */
export async function startGoDownloader(options: StartGoDownloaderOptions = {}): Promise<RunningGoDownloader> {
  const downloader = new RunningGoDownloader(options);
  await downloader.up();
  return downloader;
}
