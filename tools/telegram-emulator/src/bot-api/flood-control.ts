import { tooManyRequests, type ApiError } from './api-error';

/** Telegram's flood limits, as the emulator enforces them when asked to (off by default). */
export interface FloodLimits {
  /** Messages one bot may send or edit in any sliding second (Telegram: about 30). */
  perSecond?: number;
  /** The shortest gap between two messages sent or edited in one chat (Telegram: about a second). */
  chatIntervalMs?: number;
}

/** Calls that put a message in a chat or change one: what Telegram's limits count. */
const COUNTED = /^(send|copy|forward|edit)/i;

/**
 * Answers 429 (retry_after 1) to a message call over the limits, as Telegram does; the call is
 * not carried out and does not count. Calls refused for another reason first (a fault, a bad
 * request) do not count either.
 */
export class FloodControl {
  private limits: Required<FloodLimits> | undefined;
  /** Per bot, the times of its counted calls in the last second. */
  private readonly recent = new Map<number, number[]>();
  /** Per bot and chat, when its last counted call was let through. */
  private readonly lastInChat = new Map<string, number>();

  set(limits: FloodLimits | undefined): void {
    this.limits = limits ? { perSecond: limits.perSecond ?? 30, chatIntervalMs: limits.chatIntervalMs ?? 1000 } : undefined;
    this.recent.clear();
    this.lastInChat.clear();
  }

  get current(): Required<FloodLimits> | undefined {
    return this.limits ? { ...this.limits } : undefined;
  }

  /** The refusal a call meets, if any; a call let through is counted. */
  admit(botId: number, method: string, params: Record<string, unknown>, now = Date.now()): ApiError | undefined {
    const limits = this.limits;
    if (!limits || !COUNTED.test(method) || /^sendChatAction$/i.test(method)) return undefined;
    const times = (this.recent.get(botId) ?? []).filter((at) => at > now - 1000);
    this.recent.set(botId, times);
    if (times.length >= limits.perSecond) return tooManyRequests(1);
    const chat = params.chat_id;
    const chatKey = chat === undefined || chat === null ? undefined : `${botId}:${String(chat)}`;
    if (chatKey) {
      const last = this.lastInChat.get(chatKey);
      if (last !== undefined && now - last < limits.chatIntervalMs) return tooManyRequests(1);
      this.lastInChat.set(chatKey, now);
      if (this.lastInChat.size > 10_000) {
        for (const [key, at] of this.lastInChat) if (at <= now - limits.chatIntervalMs) this.lastInChat.delete(key);
      }
    }
    times.push(now);
    return undefined;
  }
}
