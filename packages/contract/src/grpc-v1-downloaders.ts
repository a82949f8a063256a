import { DownloaderClient, type DownloaderClientOptions } from './downloader-client';
import type { DownloaderPort, DownloaderStatus, DownloaderTarget, HandOver, QueuedLink } from './downloader-port';
import type { DownloaderMethod, DownloaderRpcs, OnWork, Task } from './messages';

/** The status word the deployed downloaders give a link they have downloaded (kept until CleanHistory). */
const FINISHED_STATUS = 'DONE';

/** A grpc.v1.Downloader Task as dwld sees a queued link. */
export function queuedLinkFromTask(task: Task): QueuedLink {
  return {
    url: task.link,
    stage: task.status.toUpperCase() === FINISHED_STATUS ? 'finished' : 'held',
    status: task.status,
    ...(task.name ? { fileName: task.name } : {}),
    ...(task.message ? { message: task.message } : {}),
  };
}

/** A grpc.v1.Downloader OnWork as dwld sees a download in progress (the wire spells it `procentage`). */
export function progressFromOnWork(work: OnWork): DownloaderStatus['downloads'][number] {
  return {
    url: work.link,
    fileName: work.filename,
    destination: work.moveTo,
    quality: work.targetQuantity,
    percent: work.procentage,
    status: work.status,
    bytesDone: work.currentSize,
    bytesTotal: work.totalSize,
    message: work.message,
  };
}

/**
 * The DownloaderPort for downloaders speaking grpc.v1 (proto/downloader.proto, the deployed Go
 * downloaders' protocol). Failures reject with DownloaderCallError, a DownloaderError.
 */
export class GrpcV1Downloaders implements DownloaderPort {
  readonly client: DownloaderClient;

  constructor(options: DownloaderClientOptions) {
    this.client = new DownloaderClient(options);
  }

  async handOver(target: DownloaderTarget, { url, destination, maxQuality }: HandOver): Promise<void> {
    // maxQuality has presence on the wire: absent means no limit, so it is left out rather than sent as 0.
    await this.call(target, 'SetToQueue', maxQuality === undefined ? { link: url, userName: destination } : { link: url, userName: destination, maxQuality });
  }

  async remove(target: DownloaderTarget, url: string): Promise<void> {
    await this.call(target, 'DeleteFromQueue', { link: url });
  }

  async queue(target: DownloaderTarget): Promise<QueuedLink[]> {
    return ((await this.call(target, 'Queue', {})).queue ?? []).map(queuedLinkFromTask);
  }

  async status(target: DownloaderTarget): Promise<DownloaderStatus> {
    const response = await this.call(target, 'Status', {});
    return { downloads: (response.linksInWork ?? []).map(progressFromOnWork), sensors: response.sensors ?? '' };
  }

  async clean(target: DownloaderTarget): Promise<number> {
    // CleanHistory answers with the history it dropped.
    return ((await this.call(target, 'CleanHistory', {})).history ?? []).length;
  }

  async health(target: DownloaderTarget): Promise<{ message?: string }> {
    const { message } = await this.call(target, 'Healtheck', {});
    // The field has presence: an empty message said is kept as said.
    return message === undefined ? {} : { message };
  }

  close(): void {
    this.client.close();
  }

  private call<M extends DownloaderMethod>(target: DownloaderTarget, method: M, request: DownloaderRpcs[M][0]): Promise<DownloaderRpcs[M][1]> {
    return typeof target === 'string' ? this.client.call(target, method, request) : this.client.callAt(target.address, method, request, target.name);
  }
}
