import { isUniqueViolation, type Database, type Link } from '@dwld/db';

export type { Link };

export interface NewLink {
  url: string;
  host: string;
  userId: string;
  chatId: string;
  username: string | null;
  quality: string;
  folder: string | null;
  messageId: number | null;
  sendAt: Date;
}

/** Which links /queue shows: waiting for the first try, waiting for a retry, given up. */
export type QueueStatus = 'queued' | 'retrying' | 'failed';
export const QUEUE_STATUSES: readonly QueueStatus[] = ['queued', 'retrying', 'failed'];

export function queueStatusOf(link: Pick<Link, 'status' | 'attempts'>): QueueStatus {
  if (link.status === 'failed') return 'failed';
  return link.attempts > 0 ? 'retrying' : 'queued';
}

export type ChangeOutcome = { ok: true; link: Link } | { ok: false; why: 'gone' | 'in_flight' };

/** The gateway's side of the `links` table: what people add, change and remove. */
export class LinkStore {
  constructor(private readonly db: Database) {}

  /** Stores a link; `duplicate` when this user already has it queued. */
  async add(link: NewLink): Promise<{ created: true; link: Link } | { created: false; existing: Link }> {
    try {
      const created = await this.db.link.create({
        data: { ...link, userId: BigInt(link.userId), chatId: BigInt(link.chatId) },
      });
      return { created: true, link: created };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const existing = await this.db.link.findUnique({ where: { userId_url: { userId: BigInt(link.userId), url: link.url } } });
      // Dispatched between the insert and this read: it can be queued again.
      if (!existing) return this.add(link);
      return { created: false, existing };
    }
  }

  /**
   * The downloader that already took this link from this very message, if one did: Telegram
   * may deliver a message again after a crash, and by then its link may have left the queue.
   */
  async handedOverFrom(chatId: string, messageId: number, url: string): Promise<string | null> {
    const row = await this.db.dispatch.findFirst({ where: { chatId: BigInt(chatId), messageId, url }, select: { downloader: true } });
    return row?.downloader ?? null;
  }

  find(id: number): Promise<Link | null> {
    return this.db.link.findUnique({ where: { id } });
  }

  findByUrl(url: string, userId?: string): Promise<Link[]> {
    return this.db.link.findMany({ where: { url, ...(userId ? { userId: BigInt(userId) } : {}) }, orderBy: { id: 'asc' } });
  }

  /** Queued links, oldest first; one user's, or everybody's when `userId` is undefined. */
  list(userId?: string, statuses: readonly QueueStatus[] = QUEUE_STATUSES): Promise<Link[]> {
    const or = [];
    if (statuses.includes('queued')) or.push({ status: 'queued' as const, attempts: 0 });
    if (statuses.includes('retrying')) or.push({ status: 'queued' as const, attempts: { gt: 0 } });
    if (statuses.includes('failed')) or.push({ status: 'failed' as const });
    if (or.length === 0) return Promise.resolve([]);
    return this.db.link.findMany({
      where: { ...(userId ? { userId: BigInt(userId) } : {}), OR: or },
      orderBy: [{ userId: 'asc' }, { id: 'asc' }],
    });
  }

  /**
   * Changes quality or folder while the link waits. A link a scheduler holds right now is
   * being sent with what it had: refusing says so instead of pretending the change applied.
   */
  async change(id: number, data: { quality?: string; folder?: string | null }, now: Date): Promise<ChangeOutcome> {
    const [changed] = await this.db.link.updateManyAndReturn({
      where: { id, status: 'queued', OR: [{ claimOwner: null }, { claimExpiresAt: { lt: now } }] },
      data,
    });
    if (changed) return { ok: true, link: changed };
    const link = await this.find(id);
    return { ok: false, why: !link || link.status === 'failed' ? 'gone' : 'in_flight' };
  }

  /** Removes a link; null when it was already gone (dispatched or removed). */
  async remove(id: number): Promise<Link | null> {
    try {
      return await this.db.link.delete({ where: { id } });
    } catch (err) {
      if ((err as { code?: string }).code === 'P2025') return null;
      throw err;
    }
  }

  async setReplyMessageId(id: number, messageId: number): Promise<boolean> {
    const { count } = await this.db.link.updateMany({ where: { id }, data: { replyMessageId: messageId } });
    return count === 1;
  }
}
