// Every word the bot says, in English and Russian, in one place. Dynamic parts are escaped
// here (the bot speaks Telegram HTML), so handlers never build markup themselves.
import { escapeHtml as e } from './telegram/text';
import type { LinkRejection } from '@dwld/domain';
import type { DownloadProgress } from '@dwld/contract';
import type { DownloaderFailure } from '@dwld/errors';

export type Language = 'en' | 'ru';

/** The words for someone the bot knows (their stored language), or for anyone else in `fallback`'s. */
export function textsForUser(user: { language: string | null } | null | undefined, fallback: Language): Texts {
  return textsFor(pickLanguage(user?.language, fallback));
}

export function pickLanguage(code: string | null | undefined, fallback: Language): Language {
  if (!code) return fallback;
  const base = code.toLowerCase().split('-')[0];
  return base === 'ru' || base === 'uk' || base === 'be' ? 'ru' : base === 'en' ? 'en' : fallback;
}

/** "in 45 s", "in 3 min", "in 2 h" — how long until a moment; "now" once it has come. */
function until(at: Date, now: Date, lang: Language): string {
  const s = Math.round((at.getTime() - now.getTime()) / 1000);
  if (s <= 0) return lang === 'ru' ? 'сейчас' : 'now';
  const [n, unit] = s < 90 ? [s, lang === 'ru' ? 'с' : 's'] : s < 5400 ? [Math.round(s / 60), lang === 'ru' ? 'мин' : 'min'] : [Math.round(s / 3600), lang === 'ru' ? 'ч' : 'h'];
  return lang === 'ru' ? `через ${n} ${unit}` : `in ${n} ${unit}`;
}

function clock(at: Date): string {
  return `${at.toISOString().slice(11, 19)} UTC`;
}

/** How a try to hand a link over failed, as the scheduler records it (links.last_error_kind). */
export type FailureKind = DownloaderFailure;

/** What a card or a /queue line says about a link: its state and the words about its last try. */
export interface LinkView {
  id: number;
  url: string;
  host: string;
  quality: string;
  folder: string | null;
  sendAt: Date;
  attempts: number;
  failed: boolean;
  /** The kind of the last failure (null for links that never failed, or failed before kinds were kept). */
  failureKind: FailureKind | null;
  /** A refusing downloader's own words. */
  failureReason: string | null;
  /** The technical last error: admins only. */
  lastError: string | null;
}

/** Dispatching is paused: since when and by whom (the latter for admins' eyes). */
export interface PauseView {
  since: Date | null;
  by: { id: string; name: string | null } | null;
}

/** Whose links an admin's /queue groups: name and @username as Telegram showed them, and the id. */
export interface OwnerView {
  id: string;
  name: string | null;
  username: string | null;
}

/** How many of a person's links each /select status holds. */
export type StatusCounts = Record<'queued' | 'retrying' | 'failed', number>;

function ownerLabel(owner: OwnerView): string {
  const parts = [owner.name ? `<b>${e(owner.name)}</b>` : '', owner.username ? `@${e(owner.username)}` : ''].filter(Boolean);
  return parts.length > 0 ? `${parts.join(' ')} · id ${e(owner.id)}` : `id ${e(owner.id)}`;
}

function pausedByLabel(by: PauseView['by']): string {
  return by ? (by.name ? `${e(by.name)}, id ${e(by.id)}` : `id ${e(by.id)}`) : '';
}

function failureEn(link: LinkView): string {
  switch (link.failureKind) {
    case 'refused':
      return link.failureReason ? `⚠️ The downloader refused this link: “${e(link.failureReason)}”` : '⚠️ The downloader refused this link.';
    case 'unavailable':
      return '⚠️ No downloader is reachable right now.';
    case 'no_downloader':
      return `⚠️ No downloader takes links from ${e(link.host)} yet.`;
    case 'internal':
      // The deployed downloaders answer UNKNOWN, with their own words, for every error.
      return link.failureReason ? `⚠️ The downloader could not take it: “${e(link.failureReason)}”` : '⚠️ Handing it over failed on our side.';
    default:
      return '⚠️ The last try failed.';
  }
}

function failureRu(link: LinkView): string {
  switch (link.failureKind) {
    case 'refused':
      return link.failureReason ? `⚠️ Загрузчик отказался от ссылки: «${e(link.failureReason)}»` : '⚠️ Загрузчик отказался от ссылки.';
    case 'unavailable':
      return '⚠️ Сейчас ни один загрузчик не отвечает.';
    case 'no_downloader':
      return `⚠️ Ссылки с ${e(link.host)} пока не берёт ни один загрузчик.`;
    case 'internal':
      return link.failureReason ? `⚠️ Загрузчик не смог её принять: «${e(link.failureReason)}»` : '⚠️ Передать ссылку не удалось из-за ошибки у нас.';
    default:
      return '⚠️ Последняя попытка не удалась.';
  }
}

const en = {
  accessDenied: (id: string, canShareContact: boolean) =>
    `⛔ Access denied. Your Telegram id is <code>${e(id)}</code>: send it to an administrator to be let in.` +
    (canShareContact ? '\nIf your phone number is on the list, press “Share my contact” below.' : ''),
  shareContactButton: '📱 Share my contact',
  contactNotOwn: '⛔ That contact is not yours. Press “Share my contact” to send your own.',
  contactPhoneNotAllowed: '⛔ This phone number is not on the list.',
  contactAccepted: '✅ You are in. Send me a link to download.',
  loggedOut: 'You are logged out. Share your contact again to come back.',
  notLoggedInByPhone: 'You are let in by your id, not by phone: there is nothing to log out of.',
  welcome: (admin: boolean) =>
    `👋 Send me a link and I will queue it for download. You can pick the quality while it waits.` + (admin ? '\nYou are an administrator: see /help for the admin commands.' : ''),
  help: (admin: boolean, byPhone = false) =>
    [
      '<b>Send a link</b> (or several) to queue it.',
      '/queue — your queued links',
      '/select — which links /queue shows',
      '/remove &lt;link&gt; — remove a link',
      admin ? '/enable, /disable — notifications when a link is taken or a downloader goes down' : '/enable, /disable — notifications when a link is taken',
      '/restart — reset your settings',
      ...(byPhone && !admin ? ['/logout — forget your phone login'] : []),
      ...(admin
        ? ['', '<b>Admin</b>', '/status — downloaders at work', '/downloaders — registered downloaders', '/clean — clean every downloader’s history (asks first)', '/pooloff, /poolon — pause and resume dispatching', '/links — every queued link, one per line']
        : []),
    ].join('\n'),
  card: {
    queued: '📥 <b>Queued</b>',
    retrying: '⏳ <b>Waiting to retry</b>',
    paused: '⏸ <b>Paused</b>',
    failed: '❌ <b>Not downloaded</b>',
    removed: '🗑 <b>Removed</b>',
  },
  cardTitle: (headline: string, url: string) => `${headline}: ${e(url)}`,
  qualityLine: (quality: string) => `Quality: <b>${e(quality)}</b>`,
  folderLine: (folder: string | null) => `Folder: <b>${e(folder ?? '—')}</b>`,
  sending: (at: Date, now: Date) => (at.getTime() <= now.getTime() ? 'Sending now' : `Sending ${until(at, now, 'en')} (${clock(at)})`),
  failure: (link: LinkView) => failureEn(link),
  nextTry: (at: Date, now: Date, attempt: number) => `Next try ${until(at, now, 'en')} (${clock(at)}), attempt ${attempt}.`,
  gaveUp: (attempts: number) => `Gave up after ${attempts} attempt(s). ↻ Try again queues it afresh; ✖ Remove takes it off your queue.`,
  retryButton: '↻ Try again',
  retriedAnswer: 'Queued again: sending it now.',
  notFailed: 'This link is queued already.',
  pausedNote: 'Dispatching is paused by an administrator: the link waits here and goes out once it resumes.',
  removeButton: '✖ Remove',
  linkRejected: (url: string, reason: LinkRejection) => `🚫 ${e(url.length > 200 ? `${url.slice(0, 200)}…` : url)}\n${en.rejection[reason]}`,
  rejection: {
    too_long: 'The link is too long.',
    not_a_url: 'This is not a link I can read.',
    scheme: 'Only http and https links can be downloaded.',
    credentials: 'Links with a user name or password in them are not accepted.',
    private_host: 'Links to local or private network addresses are not accepted.',
    private_address: 'Its host name resolves only to local or private network addresses; such links are not accepted.',
    no_host: 'The link has no host.',
  } satisfies Record<LinkRejection, string>,
  linkDuplicate: (url: string) => `ℹ️ ${e(url)} is already in your queue.`,
  tooManyLinks: (max: number, extra: number) => `⚠️ Only ${max} links are taken per message; ${extra} more were ignored. Send them in another message.`,
  noLinks: 'I found no link in that message. Send an http or https link, or /help.',
  editIgnored: 'I do not read edited messages: send the link again as a new message.',
  alreadyAllowed: 'You are already allowed in: just send me a link.',
  slowDown: (perMinute: number, retryS: number, skipped: number) =>
    `🐢 That is more than ${perMinute} links a minute. ${skipped} link(s) were not queued: send them again in ${retryS} s.`,
  urgent: (url: string) => `⚠️ The queue is unavailable right now, so ${e(url)} was sent for immediate download at the default quality; it cannot be changed.`,
  notQueued: (url: string) => `❌ ${e(url)} was NOT queued: the service is unavailable. Please send it again later.`,
  qualitySet: (quality: string) => `Quality: ${quality}`,
  folderSet: (folder: string) => `Folder: ${folder}`,
  folderCleared: 'Folder: none',
  linkGone: 'This link has already been sent or removed.',
  removedAnswer: 'Removed.',
  linkInFlight: 'This link is being sent right now.',
  notYours: 'This is not your link.',
  badButton: 'This button is no longer valid.',
  removed: (url: string) => `🗑 Removed: ${e(url)}`,
  removeUsage: 'Usage: /remove &lt;link&gt; — or press ✖ Remove under a link or in /queue.',
  removeNotFound: (url: string) => `No queued link ${e(url)}.`,
  dispatched: (url: string, downloader: string) => `✅ ${e(url)} was taken by <b>${e(downloader)}</b>.`,
  notificationsOn: '🔔 Notifications are on.',
  notificationsOff: '🔕 Notifications are off.',
  restarted: 'Your settings are reset.',
  queueEmpty: 'Your queue is empty.',
  queueEmptyAll: 'The queue is empty.',
  queueAllHidden: (hidden: string) => `Nothing to show: /select hides every link in the queue (${hidden}). Use /select to show them.`,
  queueSomeHidden: (hidden: string) => `Hidden by /select: ${hidden}.`,
  statusCounts: (counts: StatusCounts) =>
    (['queued', 'retrying', 'failed'] as const)
      .filter((status) => counts[status] > 0)
      .map((status) => `${counts[status]} ${({ queued: 'queued', retrying: 'retrying', failed: 'failed' } as const)[status]}`)
      .join(', '),
  queueHeader: (count: number) => `<b>Queue</b> (${count})`,
  queuePaused: (pause: PauseView, admin: boolean) =>
    `⏸ Dispatching is paused${pause.since ? ` since ${clock(pause.since)}` : ''}${admin && pause.by ? ` (by ${pausedByLabel(pause.by)})` : ''}: links wait until it resumes.`,
  queueUserHeader: (owner: OwnerView, count: number) => `👤 ${ownerLabel(owner)} (${count})`,
  queueItem: (link: LinkView, now: Date, options: { paused: boolean; admin: boolean }) =>
    `#${link.id} ${e(link.url)}\n   ${e(link.quality)}${link.folder ? ` → ${e(link.folder)}` : ''} · ` +
    (link.failed
      ? `❌ failed (${link.attempts})`
      : options.paused
        ? '⏸ paused'
        : link.attempts > 0
          ? `retry ${until(link.sendAt, now, 'en')} (attempt ${link.attempts + 1})`
          : `sending ${until(link.sendAt, now, 'en')}`) +
    (link.attempts > 0 || link.failed ? `\n   ${options.admin && link.lastError ? `⚠️ ${e(link.lastError)}` : failureEn(link)}` : ''),
  selectTitle: 'Which links should /queue show?',
  statusName: { queued: 'Queued', retrying: 'Retrying', failed: 'Failed' },
  adminOnly: '⛔ This command is for administrators.',
  paused: '⏸ Dispatching is paused for everyone: queued links wait, and their cards say so. /poolon resumes it.',
  alreadyPaused: (pause: PauseView) => `⏸ Dispatching was already paused${pause.since ? ` since ${clock(pause.since)}` : ''}${pause.by ? ` (by ${pausedByLabel(pause.by)})` : ''}. /poolon resumes it.`,
  resumed: '▶️ Dispatching is resumed: waiting links go out now.',
  notPaused: '▶️ Dispatching is not paused.',
  noDownloaders: 'No downloader has registered yet.',
  downloaderLine: (d: { name: string; host: string; port: number; patterns: string[]; healthy: boolean; lastSeenAt: Date }, now: Date) =>
    `${d.healthy ? '🟢' : '🔴'} <b>${e(d.name)}</b> ${e(`${d.host}:${d.port}`)}\n   ${e(d.patterns.join(', '))}\n   last seen ${e(clock(d.lastSeenAt))} (${Math.round((now.getTime() - d.lastSeenAt.getTime()) / 1000)} s ago)`,
  statusOf: (name: string) => `🖥 <b>${e(name)}</b>`,
  statusUnavailable: (name: string, error: string) => `🖥 <b>${e(name)}</b>: unavailable (${e(error)})`,
  statusIdle: 'nothing in work',
  statusItem: (w: DownloadProgress) =>
    `• ${e(w.url)}\n   ${w.percent.toFixed(1)}% · ${mb(w.bytesDone)}/${mb(w.bytesTotal)} MB · ${e(w.status)}${w.destination ? ` → ${e(w.destination)}` : ''}`,
  sensors: (s: string) => `🌡 ${e(s)}`,
  cleanConfirm: (names: string[]) =>
    `🧹 Clean the history of ${names.length === 1 ? 'downloader' : `${names.length} downloaders`} ${names.map((n) => `<b>${e(n)}</b>`).join(', ')}? They forget every finished download; links waiting or in work stay.`,
  cleanYes: '🧹 Yes, clean',
  cleanNo: 'Cancel',
  cleanCancelled: '🧹 Cleaning cancelled: nothing was changed.',
  cleanAnswered: 'This question was answered already.',
  cleaning: '🧹 Cleaning every downloader’s history…',
  cleanExpired: 'This confirmation has expired: send /clean again.',
  cleaned: (name: string, count: number) => `🧹 ${e(name)}: ${count} history entries cleaned`,
  cleanFailed: (name: string, error: string) => `🧹 ${e(name)}: failed (${e(error)})`,
  downloaderDown: (name: string, since: Date) => `🔴 Downloader <b>${e(name)}</b> is not answering (since ${clock(since)}). Links it would take go to another downloader that takes them, or wait for it.`,
  downloaderUp: (name: string) => `🟢 Downloader <b>${e(name)}</b> answers again.`,
  botStarted: '🟢 dwld bot started.',
  botStopping: '🔴 dwld bot is stopping.',
  somethingWrong: 'Something went wrong on my side. Please try again.',
  unavailable: '⚠️ The service is unavailable right now. Please try again in a minute.',
  menu: { queue: '📋 Queue', help: '❓ Help', status: '📊 Status', downloaders: '🖥 Downloaders' },
  commands: {
    start: 'Start and show the menu',
    help: 'What I can do',
    queue: 'Your queued links',
    select: 'Which links /queue shows',
    remove: 'Remove a link',
    enable: 'Notifications on',
    disable: 'Notifications off',
    logout: 'Forget your phone login',
    restart: 'Reset your settings',
    status: 'Downloaders at work',
    downloaders: 'Registered downloaders',
    clean: 'Clean downloaders’ history',
    pooloff: 'Pause dispatching',
    poolon: 'Resume dispatching',
    links: 'All queued links, plain',
  },
};

function mb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}

export type Texts = typeof en;

const ru: Texts = {
  ...en,
  accessDenied: (id, canShareContact) =>
    `⛔ Доступ запрещён. Ваш id в Telegram: <code>${e(id)}</code> — отправьте его администратору.` +
    (canShareContact ? '\nЕсли ваш номер в списке, нажмите «Поделиться контактом» ниже.' : ''),
  shareContactButton: '📱 Поделиться контактом',
  contactNotOwn: '⛔ Это не ваш контакт. Нажмите «Поделиться контактом», чтобы отправить свой.',
  contactPhoneNotAllowed: '⛔ Этого номера нет в списке.',
  contactAccepted: '✅ Доступ открыт. Пришлите ссылку для загрузки.',
  loggedOut: 'Вы вышли. Чтобы вернуться, снова поделитесь контактом.',
  notLoggedInByPhone: 'Вы допущены по id, а не по номеру: выходить не из чего.',
  welcome: (admin) => `👋 Пришлите ссылку — я поставлю её в очередь. Пока она ждёт, можно выбрать качество.` + (admin ? '\nВы администратор: команды — в /help.' : ''),
  card: {
    queued: '📥 <b>В очереди</b>',
    retrying: '⏳ <b>Ждёт повтора</b>',
    paused: '⏸ <b>Приостановлено</b>',
    failed: '❌ <b>Не скачано</b>',
    removed: '🗑 <b>Удалено</b>',
  },
  qualityLine: (quality) => `Качество: <b>${e(quality)}</b>`,
  folderLine: (folder) => `Папка: <b>${e(folder ?? '—')}</b>`,
  sending: (at, now) => (at.getTime() <= now.getTime() ? 'Отправка сейчас' : `Отправка ${until(at, now, 'ru')} (${clock(at)})`),
  failure: (link) => failureRu(link),
  nextTry: (at, now, attempt) => `Следующая попытка ${until(at, now, 'ru')} (${clock(at)}), попытка ${attempt}.`,
  gaveUp: (attempts) => `Попыток было: ${attempts}, больше не пробуем. ↻ Ещё раз поставит её в очередь заново; ✖ Удалить уберёт её из очереди.`,
  retryButton: '↻ Ещё раз',
  retriedAnswer: 'Снова в очереди: отправляем сейчас.',
  notFailed: 'Эта ссылка уже в очереди.',
  pausedNote: 'Администратор приостановил отправку: ссылка ждёт здесь и уйдёт, когда отправку возобновят.',
  removeButton: '✖ Удалить',
  removedAnswer: 'Удалено.',
  linkRejected: (url, reason) => `🚫 ${e(url.length > 200 ? `${url.slice(0, 200)}…` : url)}\n${ru.rejection[reason]}`,
  rejection: {
    too_long: 'Ссылка слишком длинная.',
    not_a_url: 'Это не похоже на ссылку.',
    scheme: 'Скачать можно только ссылки http и https.',
    credentials: 'Ссылки с логином или паролем не принимаются.',
    private_host: 'Ссылки на локальные и частные адреса не принимаются.',
    private_address: 'Имя хоста в ссылке указывает только на локальные или частные адреса сети; такие ссылки не принимаются.',
    no_host: 'В ссылке нет адреса сайта.',
  },
  linkDuplicate: (url) => `ℹ️ ${e(url)} уже в вашей очереди.`,
  tooManyLinks: (max, extra) => `⚠️ Из одного сообщения берётся не больше ${max} ссылок; ещё ${extra} пропущено. Пришлите их отдельно.`,
  noLinks: 'В сообщении нет ссылки. Пришлите ссылку http или https, или /help.',
  editIgnored: 'Изменённые сообщения я не читаю: пришлите ссылку новым сообщением.',
  alreadyAllowed: 'У вас уже есть доступ: просто пришлите ссылку.',
  slowDown: (perMinute, retryS, skipped) => `🐢 Это больше ${perMinute} ссылок в минуту. Не поставлено: ${skipped}. Пришлите их снова через ${retryS} с.`,
  urgent: (url) => `⚠️ Очередь сейчас недоступна, поэтому ${e(url)} отправлена на загрузку сразу, с качеством по умолчанию; изменить его нельзя.`,
  notQueued: (url) => `❌ ${e(url)} НЕ поставлена в очередь: сервис недоступен. Пришлите её позже.`,
  qualitySet: (quality) => `Качество: ${quality}`,
  folderSet: (folder) => `Папка: ${folder}`,
  folderCleared: 'Папка: не выбрана',
  linkGone: 'Эта ссылка уже отправлена или удалена.',
  linkInFlight: 'Эта ссылка отправляется прямо сейчас.',
  notYours: 'Это не ваша ссылка.',
  badButton: 'Эта кнопка больше не действует.',
  removed: (url) => `🗑 Удалено: ${e(url)}`,
  removeUsage: 'Так: /remove &lt;ссылка&gt; — или нажмите ✖ Удалить под ссылкой или в /queue.',
  removeNotFound: (url) => `Ссылки ${e(url)} нет в очереди.`,
  dispatched: (url, downloader) => `✅ ${e(url)} взял <b>${e(downloader)}</b>.`,
  notificationsOn: '🔔 Уведомления включены.',
  notificationsOff: '🔕 Уведомления выключены.',
  restarted: 'Настройки сброшены.',
  queueEmpty: 'Ваша очередь пуста.',
  queueEmptyAll: 'Очередь пуста.',
  queueHeader: (count) => `<b>Очередь</b> (${count})`,
  queueAllHidden: (hidden) => `Показать нечего: /select скрывает все ссылки в очереди (${hidden}). Откройте /select, чтобы их показать.`,
  queueSomeHidden: (hidden) => `Скрыто через /select: ${hidden}.`,
  statusCounts: (counts) =>
    (['queued', 'retrying', 'failed'] as const)
      .filter((status) => counts[status] > 0)
      .map((status) => `${({ queued: 'в очереди', retrying: 'ждут повтора', failed: 'с ошибкой' } as const)[status]}: ${counts[status]}`)
      .join(', '),
  queuePaused: (pause, admin) =>
    `⏸ Отправка приостановлена${pause.since ? ` с ${clock(pause.since)}` : ''}${admin && pause.by ? ` (${pausedByLabel(pause.by)})` : ''}: ссылки ждут, пока её возобновят.`,
  selectTitle: 'Какие ссылки показывать в /queue?',
  statusName: { queued: 'В очереди', retrying: 'Повтор', failed: 'Ошибка' },
  adminOnly: '⛔ Эта команда только для администраторов.',
  paused: '⏸ Отправка приостановлена для всех: ссылки ждут, и это видно на их карточках. /poolon — возобновить.',
  alreadyPaused: (pause) => `⏸ Отправка уже приостановлена${pause.since ? ` с ${clock(pause.since)}` : ''}${pause.by ? ` (${pausedByLabel(pause.by)})` : ''}. /poolon — возобновить.`,
  resumed: '▶️ Отправка возобновлена: ждущие ссылки уходят сейчас.',
  notPaused: '▶️ Отправка не приостановлена.',
  noDownloaders: 'Ни один загрузчик ещё не зарегистрировался.',
  somethingWrong: 'У меня что-то сломалось. Попробуйте ещё раз.',
  unavailable: '⚠️ Сервис сейчас недоступен. Попробуйте через минуту.',
  downloaderDown: (name, since) => `🔴 Загрузчик <b>${e(name)}</b> не отвечает (с ${clock(since)}). Его ссылки уходят другому подходящему загрузчику или ждут его.`,
  downloaderUp: (name) => `🟢 Загрузчик <b>${e(name)}</b> снова отвечает.`,
  botStarted: '🟢 Бот dwld запущен.',
  botStopping: '🔴 Бот dwld останавливается.',
  menu: { queue: '📋 Очередь', help: '❓ Помощь', status: '📊 Статус', downloaders: '🖥 Загрузчики' },
  help: (admin, byPhone = false) =>
    [
      '<b>Пришлите ссылку</b> (или несколько), чтобы поставить в очередь.',
      '/queue — ваши ссылки в очереди',
      '/select — какие ссылки показывать в /queue',
      '/remove &lt;ссылка&gt; — удалить ссылку',
      admin ? '/enable, /disable — уведомления, когда ссылку взяли или загрузчик пропал' : '/enable, /disable — уведомления, когда ссылку взяли',
      '/restart — сбросить настройки',
      ...(byPhone && !admin ? ['/logout — забыть вход по номеру'] : []),
      ...(admin
        ? ['', '<b>Администратор</b>', '/status — что качают загрузчики', '/downloaders — зарегистрированные загрузчики', '/clean — очистить историю загрузчиков (спросит)', '/pooloff, /poolon — остановить и возобновить отправку', '/links — все ссылки в очереди, по одной в строке']
        : []),
    ].join('\n'),
  queueUserHeader: (owner, count) => `👤 ${ownerLabel(owner)} (${count})`,
  queueItem: (link, now, options) =>
    `#${link.id} ${e(link.url)}\n   ${e(link.quality)}${link.folder ? ` → ${e(link.folder)}` : ''} · ` +
    (link.failed
      ? `❌ ошибка (${link.attempts})`
      : options.paused
        ? '⏸ приостановлено'
        : link.attempts > 0
          ? `повтор ${until(link.sendAt, now, 'ru')} (попытка ${link.attempts + 1})`
          : `отправка ${until(link.sendAt, now, 'ru')}`) +
    (link.attempts > 0 || link.failed ? `\n   ${options.admin && link.lastError ? `⚠️ ${e(link.lastError)}` : failureRu(link)}` : ''),
  downloaderLine: (d, now) =>
    `${d.healthy ? '🟢' : '🔴'} <b>${e(d.name)}</b> ${e(`${d.host}:${d.port}`)}\n   ${e(d.patterns.join(', '))}\n   на связи ${e(clock(d.lastSeenAt))} (${Math.round((now.getTime() - d.lastSeenAt.getTime()) / 1000)} с назад)`,
  statusUnavailable: (name, error) => `🖥 <b>${e(name)}</b>: недоступен (${e(error)})`,
  statusIdle: 'ничего не качает',
  cleanConfirm: (names) =>
    `🧹 Очистить историю ${names.length === 1 ? 'загрузчика' : `загрузчиков (${names.length})`} ${names.map((n) => `<b>${e(n)}</b>`).join(', ')}? Они забудут все завершённые загрузки; ждущие и идущие останутся.`,
  cleanYes: '🧹 Да, очистить',
  cleanNo: 'Отмена',
  cleanCancelled: '🧹 Очистка отменена: ничего не изменилось.',
  cleanAnswered: 'На этот вопрос уже ответили.',
  cleaning: '🧹 Очищаю историю загрузчиков…',
  cleanExpired: 'Это подтверждение устарело: пришлите /clean ещё раз.',
  cleaned: (name, count) => `🧹 ${e(name)}: очищено записей истории: ${count}`,
  cleanFailed: (name, error) => `🧹 ${e(name)}: не удалось (${e(error)})`,
  commands: {
    start: 'Начать и показать меню',
    help: 'Что я умею',
    queue: 'Ваши ссылки в очереди',
    select: 'Какие ссылки показывать в /queue',
    remove: 'Удалить ссылку',
    enable: 'Включить уведомления',
    disable: 'Выключить уведомления',
    logout: 'Забыть вход по номеру',
    restart: 'Сбросить настройки',
    status: 'Что качают загрузчики',
    downloaders: 'Зарегистрированные загрузчики',
    clean: 'Очистить историю загрузчиков',
    pooloff: 'Остановить отправку',
    poolon: 'Возобновить отправку',
    links: 'Все ссылки, простым списком',
  },
};

const ALL: Record<Language, Texts> = { en, ru };

export function textsFor(lang: Language): Texts {
  return ALL[lang];
}

/** A reply-keyboard button's label in every language (what `hears` listens for). */
export function menuLabels(button: keyof Texts['menu']): string[] {
  return Object.values(ALL).map((texts) => texts.menu[button]);
}

/** Every reply-keyboard label, every language. */
export const ALL_MENU_LABELS: ReadonlySet<string> = new Set(Object.values(ALL).flatMap((texts) => Object.values(texts.menu)));
