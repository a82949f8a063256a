import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnService, waitFor, type ServiceProcess } from '@dwld/testkit';
import { StateFileError, TelegramEmulator } from './index';
import type { Message, Update } from './types';

// The state file (option stateFile, env EMULATOR_STATE_FILE): ids never repeat across runs, even
// after a SIGKILL, and conversations come back. Everything over real HTTP.

const TOKEN = '7007:state-file-token';
const MAIN_JS = path.resolve(__dirname, '..', 'dist', 'main.js');

let dir: string;
let stateFile: string;
const running: TelegramEmulator[] = [];
const children: ServiceProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'emulator-state-'));
  stateFile = path.join(dir, 'state', 'telegram-emulator.json');
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
    await child.exited;
  }
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function started(options: ConstructorParameters<typeof TelegramEmulator>[0] = {}): Promise<TelegramEmulator> {
  const emulator = new TelegramEmulator(options);
  running.push(emulator);
  await emulator.start();
  return emulator;
}

async function post(url: string, body: unknown = {}): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as any;
  if (json.ok === false) throw new Error(`${url}: ${json.description}`);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(json)}`);
  return json.ok === true ? json.result : json;
}

const botApi = (root: string, method: string, params: Record<string, unknown> = {}) => post(`${root}/bot${TOKEN}/${method}`, params);
const say = (root: string, person: number, text: string): Promise<Message> => post(`${root}/__emulator/users/${person}/messages`, { text });

/** Every update the bot gets, confirming as it goes (as a polling bot does). */
async function drainUpdates(root: string): Promise<Update[]> {
  const all: Update[] = [];
  let offset = 0;
  for (;;) {
    const batch: Update[] = await botApi(root, 'getUpdates', { offset, timeout: 0 });
    if (batch.length === 0) return all;
    all.push(...batch);
    offset = batch.at(-1)!.update_id + 1;
  }
}

function savedFile(): any {
  return JSON.parse(readFileSync(stateFile, 'utf8'));
}

describe('with a state file, a restarted emulator', () => {
  it('continues every id above the first run’s and keeps the conversations', async () => {
    const first = await started({ stateFile, bots: [{ token: TOKEN, firstName: 'Keeper', username: 'keeper_bot' }], stateIdOrigin: 0 });
    first.addPerson({ id: 321, firstName: 'Dora', label: 'Guest' });
    const alice = first.user({ id: 200 });
    const hello = alice.sendText('hello');
    const picker: Message = await botApi(first.url, 'sendMessage', {
      chat_id: 200,
      text: 'Pick one',
      reply_markup: { inline_keyboard: [[{ text: '✖', callback_data: 'rm:1' }]] },
    });
    await botApi(first.url, 'sendMessage', { chat_id: 200, text: 'Share?', reply_markup: { keyboard: [[{ text: 'Yes' }]] } });
    await botApi(first.url, 'setMyCommands', { commands: [{ command: 'queue', description: 'Your links' }] });
    const pressed = alice.pressButton(picker.message_id, 'rm:1');
    const seen = await drainUpdates(first.url);
    expect(seen.map((update) => update.update_id)).toEqual([1, 2]);
    // Sent after the bot's last getUpdates: still pending when the emulator stops.
    const late = alice.sendText('are you there?');
    const firstMessages = first.chatMessages(200);
    expect(firstMessages.map((message) => message.message_id)).toEqual([1, 2, 3, 4]);
    await first.stop();

    const second = await started({ stateFile });
    expect(second.botInfo()).toMatchObject({ id: 7007, first_name: 'Keeper', username: 'keeper_bot' });
    expect(second.chatMessages(200)).toEqual(firstMessages);
    expect(second.people().find((person) => person.id === 321)).toEqual({ id: 321, firstName: 'Dora', label: 'Guest' });
    expect(second.commands()).toEqual([{ command: 'queue', description: 'Your links' }]);
    // The web chat page gets the history and the keyboard on its first event.
    const snapshot = second.chatSnapshot(200);
    expect(snapshot.messages).toEqual(firstMessages);
    expect(snapshot.replyKeyboard).toEqual({ keyboard: [[{ text: 'Yes' }]] });

    // The unconfirmed update comes again; new ones continue after it.
    const again = second.user({ id: 200 });
    const next = again.sendText('back again');
    const updates = await drainUpdates(second.url);
    expect(updates.map((update) => [update.update_id, update.message?.text])).toEqual([
      [3, 'are you there?'],
      [4, 'back again'],
    ]);
    expect(late.message_id).toBe(4);
    expect(next.message_id).toBe(5);
    const reply: Message = await botApi(second.url, 'sendMessage', { chat_id: 200, text: 'welcome back' });
    expect(reply.message_id).toBe(6);
    // A message of the first run can still be deleted (and a pressed button still answered).
    await botApi(second.url, 'deleteMessage', { chat_id: 200, message_id: hello.message_id });
    await botApi(second.url, 'answerCallbackQuery', { callback_query_id: pressed.id, text: 'Removed' });
    const pressedAgain = again.pressButton(picker.message_id, 'rm:1');
    expect(pressedAgain.id).not.toBe(pressed.id);
    expect(BigInt(pressedAgain.id)).toBeGreaterThan(BigInt(pressed.id));
    expect(second.chatMessages(200).map((message) => message.message_id)).toEqual([2, 3, 4, 5, 6]);
  });

  it('keeps a webhook and its undelivered updates, and counters across reset()', async () => {
    const first = await started({ stateFile, bots: [{ token: TOKEN }], webhook: { retryDelayMs: 60_000 }, stateIdOrigin: 0 });
    // Nobody listens there: the update stays pending.
    await botApi(first.url, 'setWebhook', { url: 'http://127.0.0.1:9/hook', secret_token: 'kept-secret' });
    first.user({ id: 200 }).sendText('one');
    await waitFor(() => first.webhookInfo().last_error_date !== undefined, { what: 'a failed delivery' });
    first.user({ id: 201 }).sendText('two');
    first.reset();
    const kept = first.user({ id: 201 }).sendText('three');
    expect(kept.message_id).toBe(2);
    await botApi(first.url, 'setWebhook', { url: 'http://127.0.0.1:9/hook', secret_token: 'kept-secret' });
    await first.stop();

    const second = await started({ stateFile, webhook: { retryDelayMs: 60_000 } });
    expect(second.webhookInfo()).toMatchObject({ url: 'http://127.0.0.1:9/hook', pending_update_count: 1 });
    expect(second.chatMessages(201).map((message) => message.text)).toEqual(['three']);
    expect(second.chatMessages(200)).toEqual([]);
    expect(second.user({ id: 201 }).sendText('four').message_id).toBe(3);
    await botApi(second.url, 'deleteWebhook');
    expect((await drainUpdates(second.url)).map((update) => [update.update_id, update.message?.text])).toEqual([
      [3, 'three'],
      [4, 'four'],
    ]);
  });

  it('reserves ids in blocks: one synchronous write per block, not per id', async () => {
    const emulator = await started({ stateFile, bots: [{ token: TOKEN }], stateIdBlock: 50, stateIdOrigin: 0 });
    const alice = emulator.user({ id: 200 });
    alice.sendText('first');
    // Written before the ids were handed out, not later.
    expect(savedFile().ids).toEqual({ 'update:7007': 50, 'message:7007:200': 50 });
    for (let i = 0; i < 49; i++) alice.sendText(`more ${i}`);
    expect(savedFile().ids).toEqual({ 'update:7007': 50, 'message:7007:200': 50 });
    alice.sendText('the 51st');
    expect(savedFile().ids).toEqual({ 'update:7007': 100, 'message:7007:200': 100 });
    // A clean stop gives back what was reserved and not used.
    await emulator.stop();
    expect(savedFile().ids).toEqual({ 'update:7007': 51, 'message:7007:200': 51 });
  });
});

describe('a state file started afresh, and one in use', () => {
  it('starts a new file\'s ids at a random point, so a world started afresh (the file deleted) repeats no id of the one before', async () => {
    const first = await started({ stateFile, bots: [{ token: TOKEN }] });
    const before = await say(first.url, 200, 'in the first world');
    const [update] = await drainUpdates(first.url);
    await first.stop();
    expect(before.message_id).toBeGreaterThan(100_000_000);
    expect(update!.update_id).toBeGreaterThan(100_000_000);
    expect(savedFile().idOrigin).toBe(before.message_id - 1);

    rmSync(stateFile);
    const second = await started({ stateFile, bots: [{ token: TOKEN }] });
    const after = await say(second.url, 200, 'in a new world');
    expect(after.message_id).toBeGreaterThan(100_000_000);
    expect(after.message_id).not.toBe(before.message_id);
    // A chat the file does not know yet starts at the file's origin too, not at 1.
    await second.stop();
    const third = await started({ stateFile, bots: [{ token: TOKEN }] });
    expect((await say(third.url, 201, 'a chat new to this file')).message_id).toBe(savedFile().idOrigin + 1);
  });

  it('refuses a second emulator on a file in use, and lets the next one in once the first stops', async () => {
    const first = await started({ stateFile, bots: [{ token: TOKEN }] });
    expect(() => new TelegramEmulator({ stateFile })).toThrow(/in use by another emulator in this process/);
    // Another process: `node dist/main.js` on the same file says so in one line and exits 1.
    const other = spawnService(MAIN_JS, { EMULATOR_PORT: '0', EMULATOR_STATE_FILE: stateFile });
    children.push(other);
    expect(await other.exited).toBe(1);
    expect(other.output()).toContain(`it is in use by another emulator (pid ${process.pid}; lock ${stateFile}.lock)`);
    await first.stop();
    const second = await started({ stateFile, bots: [{ token: TOKEN }] });
    expect((await say(second.url, 200, 'after the first stopped')).message_id).toBeGreaterThan(0);
  });

  it('takes over the lock of an emulator that was killed', async () => {
    // A pid no process has: the lock of a killed emulator.
    mkdirSync(path.dirname(stateFile), { recursive: true });
    writeFileSync(`${stateFile}.lock`, '2147483646');
    const emulator = await started({ stateFile, bots: [{ token: TOKEN }] });
    expect(readFileSync(`${stateFile}.lock`, 'utf8')).toBe(String(process.pid));
    await emulator.stop();
    expect(existsSync(`${stateFile}.lock`)).toBe(false);
  });
});

describe('a state file that cannot be used', () => {
  it.each([
    ['is not JSON', '{"format": "dwld-telegram-emulator-state", "ver'],
    ['is empty', ''],
    ['is another kind of JSON', '{"hello": "world"}'],
    ['has a broken id', JSON.stringify({ format: 'dwld-telegram-emulator-state', version: 1, ids: { 'update:1': 'many' }, bots: [], users: [], people: [], chats: [], callbackQueries: [] })],
  ])('stops the emulator from starting when it %s, naming the file, and is left as it is', (_what, content) => {
    writeFileSync(path.join(dir, 'bad.json'), content);
    const file = path.join(dir, 'bad.json');
    let error: unknown;
    try {
      new TelegramEmulator({ stateFile: file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StateFileError);
    expect((error as Error).message).toContain(`Cannot use the emulator state file ${file}: `);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('makes `node dist/main.js` print one line and exit 1', async () => {
    const file = path.join(dir, 'corrupt.json');
    writeFileSync(file, 'not json at all');
    const child = spawnService(MAIN_JS, { EMULATOR_PORT: '0', EMULATOR_STATE_FILE: file });
    children.push(child);
    expect(await child.exited).toBe(1);
    const lines = child.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^emulator could not start: Cannot use the emulator state file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`));
    expect(readFileSync(file, 'utf8')).toBe('not json at all');
  });
});

describe('without a state file', () => {
  it('keeps nothing: a new emulator numbers from 1 again and writes no file', async () => {
    for (let run = 0; run < 2; run++) {
      const emulator = await started({ bots: [{ token: TOKEN }] });
      const message = emulator.user({ id: 200 }).sendText('hi');
      expect(message.message_id).toBe(1);
      expect((await drainUpdates(emulator.url)).map((update) => update.update_id)).toEqual([1]);
      await emulator.stop();
    }
    expect(existsSync(stateFile)).toBe(false);
  });
});

describe('`node dist/main.js` with EMULATOR_STATE_FILE, stopped or killed', () => {
  async function launch(): Promise<{ child: ServiceProcess; url: string }> {
    const child = spawnService(MAIN_JS, { EMULATOR_PORT: '0', EMULATOR_STATE_FILE: stateFile });
    children.push(child);
    const url = await waitFor(() => /on (http:\/\/\S+)/.exec(child.output())?.[1] ?? (child.child.exitCode !== null ? Promise.reject(new Error(child.output())) : undefined), {
      what: 'the emulator to listen',
    });
    return { child, url };
  }

  it('continues right after the last ids when stopped with SIGTERM (Ctrl-C)', async () => {
    const run1 = await launch();
    await botApi(run1.url, 'getMe');
    const one = (await say(run1.url, 200, 'one')).message_id;
    run1.child.child.kill('SIGTERM');
    expect(await run1.child.exited).toBe(0);
    const run2 = await launch();
    expect((await say(run2.url, 200, 'two')).message_id).toBe(one + 1);
    const updates = await drainUpdates(run2.url);
    expect(updates.map((update) => [update.update_id - updates[0]!.update_id, update.message?.text])).toEqual([
      [0, 'one'],
      [1, 'two'],
    ]);
  });

  it('never hands out an update, message or callback query id twice, even killed with SIGKILL', async () => {
    const run1 = await launch();
    await botApi(run1.url, 'getMe');
    const messageIds = new Set<number>();
    const updateIds = new Set<number>();
    const callbackIds = new Set<string>();
    const keep = (message: Message) => {
      expect(messageIds.has(message.message_id)).toBe(false);
      messageIds.add(message.message_id);
    };
    // More than one block (1000) of message and update ids, so a reservation is renewed.
    for (let batch = 0; batch < 11; batch++) {
      const sent = await Promise.all(Array.from({ length: 100 }, (_, i) => say(run1.url, 200, `run1 ${batch * 100 + i}`)));
      sent.forEach(keep);
      for (const update of await drainUpdates(run1.url)) updateIds.add(update.update_id);
    }
    const picker: Message = await botApi(run1.url, 'sendMessage', { chat_id: 200, text: 'Pick', reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } });
    keep(picker);
    for (let i = 0; i < 3; i++) callbackIds.add((await post(`${run1.url}/__emulator/users/200/callback`, { messageId: picker.message_id, data: 'a' })).id);
    for (const update of await drainUpdates(run1.url)) updateIds.add(update.update_id);
    expect(updateIds.size).toBe(1103);
    // The history as of now reaches the file (within a fraction of a second).
    await waitFor(() => existsSync(stateFile) && JSON.stringify(savedFile().chats).includes('"Pick"'), { what: 'the history written' });

    // Killed in the middle of a burst: whatever was answered counts as handed out.
    let answered = 0;
    const burst = Array.from({ length: 300 }, (_, i) =>
      say(run1.url, 200, `burst ${i}`).then(
        (message) => {
          answered++;
          keep(message);
        },
        () => undefined,
      ),
    );
    await waitFor(() => answered >= 50, { what: 'part of the burst answered' });
    run1.child.child.kill('SIGKILL');
    await Promise.all(burst);
    expect(await run1.child.exited).toBeNull();

    const run2 = await launch();
    // The history written before the kill is there.
    const history = (await (await fetch(`${run2.url}/__emulator/chats/200/messages`)).json()) as Message[];
    expect(history.find((message) => message.text === 'Pick')).toMatchObject({ message_id: picker.message_id });
    const maxBefore = Math.max(...messageIds);
    const maxUpdateBefore = Math.max(...updateIds);
    const fresh = [await say(run2.url, 200, 'run2 a'), await botApi(run2.url, 'sendMessage', { chat_id: 200, text: 'run2 b' }), await say(run2.url, 200, 'run2 c')];
    for (const message of fresh) {
      expect(message.message_id).toBeGreaterThan(maxBefore);
      keep(message);
    }
    // Updates of the burst that were saved come again with their ids; the new ones are above every id of the first run.
    const newUpdates = (await drainUpdates(run2.url)).filter((update) => update.message?.text?.startsWith('run2'));
    expect(newUpdates.map((update) => update.message?.text)).toEqual(['run2 a', 'run2 c']);
    for (const update of newUpdates) expect(update.update_id).toBeGreaterThan(maxUpdateBefore);
    const callback = (await post(`${run2.url}/__emulator/users/200/callback`, { messageId: picker.message_id, data: 'a' })).id as string;
    expect(callbackIds.has(callback)).toBe(false);

    // And once more, killed while idle, right after handing out ids.
    const lastBefore = fresh.at(-1)!.message_id;
    run2.child.child.kill('SIGKILL');
    await run2.child.exited;
    const run3 = await launch();
    expect((await say(run3.url, 200, 'run3')).message_id).toBeGreaterThan(lastBefore);
    const callback3 = (await post(`${run3.url}/__emulator/users/200/callback`, { messageId: picker.message_id, data: 'a' })).id as string;
    expect([...callbackIds, callback]).not.toContain(callback3);
  });
});
