import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startGoDownloader, type RunningGoDownloader } from '@dwld/go-downloader';
import { goDatabase } from '@dwld/go-import/dist/testing/go-database';
import { waitFor } from '@dwld/testkit';
import { ALICE, BOT_TOKEN, startSystem, type System } from './support/system';

const ROOT = path.resolve(__dirname, '../..');

type Button = { text: string; callback_data: string };
const buttonsOf = (message: { reply_markup?: unknown } | undefined): Button[] =>
  ((message?.reply_markup as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? []).flat();

/** `pnpm import:go <file>` as the runner runs it (preparation skipped: the test database is migrated). */
function importGo(file: string, world: { databaseUrl: string; redisUrl: string; streamPrefix: string }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/dwld.mjs'), 'import-go', file], {
      cwd: ROOT,
      env: { ...process.env, DWLD_SKIP_PREPARE: '1', DATABASE_URL: world.databaseUrl, REDIS_URL: world.redisUrl, STREAM_PREFIX: world.streamPrefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

// The operator's cut-over: the Go bot stops, its links.db is imported with one command, dwld
// starts on the same gRPC port, and the deployed downloader (which registered with the Go bot
// once and never will again), the queued links and the people carry on.
describe('moving from the Go bot', () => {
  let system: System;
  let go: RunningGoDownloader;
  let world: { databaseUrl: string; redisUrl: string; streamPrefix: string };
  let file: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'dwld-go-cutover-'));
  const replies = { due: 0, later: 0, notice: 0 };
  let firstImport = '';

  beforeAll(async () => {
    go = await startGoDownloader({ host: '127.0.0.1' });
    system = await startSystem({
      env: { MAX_ATTEMPTS: '2' },
      beforeServices: async ({ emulator, apiRoot, databaseUrl, redisUrl, streamPrefix }) => {
        world = { databaseUrl, redisUrl, streamPrefix };
        // Alice used the Go bot: she sent two links; it read them and answered with its own buttons.
        const alice = emulator.user({ id: ALICE });
        await alice.sendText('https://youtu.be/from-go');
        await alice.sendText('https://www.youtube.com/watch?v=later');
        const botApi = async <T>(method: string, params: Record<string, unknown>): Promise<T> => {
          const res = await fetch(`${apiRoot}/bot${BOT_TOKEN}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) });
          return ((await res.json()) as { result: T }).result;
        };
        const updates = await botApi<Array<{ update_id: number }>>('getUpdates', {});
        await botApi('getUpdates', { offset: updates[updates.length - 1]!.update_id + 1, timeout: 0 });
        const goKeyboard = { inline_keyboard: [[{ text: '2160', callback_data: '2160' }, { text: 'Музыка', callback_data: 'music' }]] };
        replies.due = (await botApi<{ message_id: number }>('sendMessage', { chat_id: ALICE, text: 'Ссылка поставлена в очередь: https://youtu.be/from-go', reply_markup: goKeyboard })).message_id;
        replies.later = (await botApi<{ message_id: number }>('sendMessage', { chat_id: ALICE, text: 'Ссылка поставлена в очередь: https://www.youtube.com/watch?v=later', reply_markup: goKeyboard })).message_id;
        replies.notice = (await botApi<{ message_id: number }>('sendMessage', { chat_id: ALICE, text: 'Текущее состояние: пусто' })).message_id;

        const now = Math.floor(Date.now() / 1000);
        file = path.join(dir, 'links.db');
        writeFileSync(
          file,
          await goDatabase('latest', {
            links: [
              { link: 'https://youtu.be/from-go', quality: 2160, sendingAt: String(now - 60), userID: String(ALICE), userName: '[alice] Музыка', messageID: String(replies.due), errorMsg: '' },
              { link: 'https://www.youtube.com/watch?v=later', quality: 4320, sendingAt: String(now + 3600), userID: String(ALICE), userName: '[alice] Кино', messageID: String(replies.later), errorMsg: 'SetToQueue: rpc error: code = Unavailable desc = connection refused' },
            ],
            // As the Go bot stored the registration: patterns joined with ",", nothing trimmed, its listen-everywhere host.
            downloaders: [{ name: 'go-nas', allowedRootLinks: 'youtube.com, youtu.be,', host: '0.0.0.0', port: go.port }],
            toDelete: [{ chatID: String(ALICE), messageID: String(replies.notice), deleteAt: String(now - 5) }],
          }),
        );
        const imported = await importGo(file, world);
        firstImport = imported.output;
        if (imported.code !== 0) throw new Error(`import failed (${imported.code}):\n${imported.output}`);
      },
    });
  }, 90_000);
  afterAll(async () => {
    await system?.stop();
    await go?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports the links, the downloader and the pending deletion, and says so', () => {
    expect(firstImport).toMatch(/Links: 2 imported/);
    expect(firstImport).toMatch(/Downloaders: 1 imported/);
    expect(firstImport).toMatch(/Deletions: 1 scheduled/);
  });

  it('hands the due link to the deployed downloader, which never registered with dwld, as the Go bot would have: its folder and quality', async () => {
    await waitFor(() => go.setToQueueCount('https://youtu.be/from-go') === 1, { what: 'the deployed downloader to get the due link', timeout: 30_000 });
    const call = go.calls('SetToQueue').find((c) => c.link === 'https://youtu.be/from-go')!;
    expect(call).toMatchObject({ userName: '[alice] Музыка', maxQuality: 2160, outcome: 'queued' });
    expect(await system.db.downloader.findUniqueOrThrow({ where: { name: 'go-nas' } })).toMatchObject({ host: '127.0.0.1', port: go.port, allowedPatterns: ['youtube.com', 'youtu.be'] });
    // The registry checks its health though it never registered here.
    await waitFor(() => go.calls('Healtheck').length > 0, { what: 'the registry to call Healtheck', timeout: 20_000 });
    const alice = system.emulator.user({ id: ALICE });
    // Told (maybe before this test looked), and the Go bot's reply is gone with the link.
    const told = await waitFor(() => alice.messages().find((m) => (m.text ?? '').includes('from-go') && (m.text ?? '').includes('taken by')), { what: 'Alice to be told', timeout: 20_000 });
    expect(told.text).toContain('go-nas');
    await waitFor(() => !alice.messages().some((m) => m.message_id === replies.due), { what: 'the Go bot’s reply to the sent link to go' });
    expect(await system.db.dispatch.count({ where: { url: 'https://youtu.be/from-go' } })).toBe(1);
  });

  it('draws the waiting link’s card again with dwld’s buttons, which its owner uses to change the quality and remove it', async () => {
    const alice = system.emulator.user({ id: ALICE });
    const card = await waitFor(() => {
      const message = alice.messages().find((m) => m.message_id === replies.later);
      return buttonsOf(message).some((b) => b.text === '✖ Remove') ? message : undefined;
    }, { what: 'the Go bot’s reply drawn again as a dwld card', timeout: 20_000 });
    expect(card.text).toContain('Queued');
    expect(card.text).toContain('4320');
    const link = await system.db.link.findFirstOrThrow({ where: { url: 'https://www.youtube.com/watch?v=later' } });
    expect(link).toMatchObject({ userId: BigInt(ALICE), chatId: BigInt(ALICE), username: 'alice', folder: 'Кино', quality: '4320', replyMessageId: replies.later, cardPending: false });

    const press = alice.pressButton(replies.later, buttonsOf(card).find((b) => b.text === '1080')!.callback_data);
    expect((await press.answer()).text).toContain('1080');
    expect((await system.db.link.findUniqueOrThrow({ where: { id: link.id } })).quality).toBe('1080');

    await alice.sendText('/queue');
    const queue = await alice.nextBotMessage((m) => (m.text ?? '').includes('watch?v=later'));
    expect(queue.text).not.toContain('from-go');

    const removed = alice.pressButton(replies.later, buttonsOf(card).find((b) => b.text === '✖ Remove')!.callback_data);
    expect((await removed.answer()).text).toContain('Removed');
    expect(await system.db.link.count({ where: { id: link.id } })).toBe(0);
    await waitFor(() => go.calls('DeleteFromQueue').some((c) => c.link === 'https://www.youtube.com/watch?v=later'), { what: 'the downloader asked to drop it too' });
  });

  it('deletes the message the Go bot meant to delete', async () => {
    const alice = system.emulator.user({ id: ALICE });
    await waitFor(() => !alice.messages().some((m) => m.message_id === replies.notice), { what: 'the Go bot’s notice to be deleted', timeout: 20_000 });
  });

  it('gives a link up after MAX_ATTEMPTS UNKNOWN answers, in the downloader’s own words, and sends it once "try again" is pressed', async () => {
    go.alwaysFail('SetToQueue: insert new link: disk I/O error');
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://youtube.com/watch?v=broken');
    const reply = await alice.nextBotMessage((m) => (m.text ?? '').includes('broken') && Boolean(m.reply_markup));
    const card = await waitFor(() => {
      const message = alice.messages().find((m) => m.message_id === reply.message_id);
      return message?.text?.includes('Not downloaded') ? message : undefined;
    }, { what: 'the card to say it was not downloaded', timeout: 30_000 });
    expect(card.text).toContain('The downloader could not take it: “SetToQueue: insert new link: disk I/O error”');
    expect(card.text).toContain('Gave up after 2 attempt(s)');
    expect(card.text).not.toMatch(/127\.0\.0\.1|UNKNOWN|rpc error/);
    expect(buttonsOf(card).map((b) => b.text)).toEqual(['↻ Try again', '✖ Remove']);
    expect(go.setToQueueCount('https://youtube.com/watch?v=broken')).toBe(2);

    go.clearFaults();
    const press = alice.pressButton(reply.message_id, buttonsOf(card).find((b) => b.text === '↻ Try again')!.callback_data);
    expect((await press.answer()).text).toBe('Queued again: sending it now.');
    await waitFor(() => alice.messages().some((m) => (m.text ?? '').includes('watch?v=broken') && (m.text ?? '').includes('taken by')), { what: 'the link to be taken after "try again"', timeout: 20_000 });
    expect(go.calls('SetToQueue').filter((c) => c.link === 'https://youtube.com/watch?v=broken').map((c) => c.outcome)).toEqual(['failed', 'failed', 'queued']);
  });

  it('changes nothing when the same file is imported again', async () => {
    const before = await Promise.all([system.db.link.count(), system.db.downloader.count(), system.db.dispatch.count()]);
    const again = await importGo(file, world);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/Links: 0 imported/);
    expect(again.output).toMatch(/Downloaders: 0 imported/);
    expect(await Promise.all([system.db.link.count(), system.db.downloader.count(), system.db.dispatch.count()])).toEqual(before);
    expect(go.setToQueueCount('https://youtu.be/from-go')).toBe(1);
  });
});
