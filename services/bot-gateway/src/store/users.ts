import type { Database, User } from '@dwld/db';
import { QUEUE_STATUSES, type QueueStatus } from './link-queue';

export type { User };

/** People the bot remembers: those authorised by phone, and everyone's preferences. */
export class UserStore {
  constructor(private readonly db: Database) {}

  find(telegramId: string): Promise<User | null> {
    return this.db.user.findUnique({ where: { telegramId: BigInt(telegramId) } });
  }

  /** Remembers an allowed person (by config or phone), to keep their preferences. */
  ensureKnown(telegramId: string, role: 'admin' | 'user', language: string | null): Promise<User> {
    const id = BigInt(telegramId);
    return this.db.user.upsert({
      where: { telegramId: id },
      create: { telegramId: id, role, language },
      update: { role },
    });
  }

  authoriseByPhone(telegramId: string, phone: string, language: string | null): Promise<User> {
    const id = BigInt(telegramId);
    return this.db.user.upsert({
      where: { telegramId: id },
      create: { telegramId: id, role: 'user', phone, authorised: true, language },
      update: { phone, authorised: true },
    });
  }

  /** Forgets a phone authorisation (and the phone); true when there was one. */
  async logout(telegramId: string): Promise<boolean> {
    const { count } = await this.db.user.updateMany({ where: { telegramId: BigInt(telegramId), authorised: true }, data: { authorised: false, phone: null } });
    return count === 1;
  }

  async setNotifications(telegramId: string, on: boolean): Promise<void> {
    await this.upsert(telegramId, { notifications: on });
  }

  /** Notifications are on unless the person turned them off. */
  async wantsNotifications(telegramId: string): Promise<boolean> {
    return (await this.find(telegramId))?.notifications ?? true;
  }

  async toggleQueueFilter(telegramId: string, status: QueueStatus): Promise<QueueStatus[]> {
    const user = await this.find(telegramId);
    const current = (user?.queueFilter ?? [...QUEUE_STATUSES]) as QueueStatus[];
    const next = current.includes(status) ? current.filter((s) => s !== status) : QUEUE_STATUSES.filter((s) => s === status || current.includes(s));
    await this.upsert(telegramId, { queueFilter: next });
    return next;
  }

  /** /restart: back to the defaults (notifications on, every status shown). */
  async reset(telegramId: string): Promise<void> {
    await this.upsert(telegramId, { notifications: true, queueFilter: [...QUEUE_STATUSES] });
  }

  private async upsert(telegramId: string, data: { notifications?: boolean; queueFilter?: string[] }): Promise<void> {
    const id = BigInt(telegramId);
    await this.db.user.upsert({ where: { telegramId: id }, create: { telegramId: id, ...data }, update: data });
  }
}
