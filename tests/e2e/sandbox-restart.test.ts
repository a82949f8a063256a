// A newcomer's second `npm start`: the sandbox stopped with Ctrl-C and started again on the same
// database, Redis prefix and emulator state file (as `.sandbox/telegram-emulator.json` is kept
// between runs) still answers, keeps the chat, never reuses a message id, and queues links.
import { waitFor } from '@dwld/testkit';
import { isRunning, KILL_MARGIN_S, processTree, sandboxWorld, SHUTDOWN_TIMEOUT_S, type Sandbox, type SandboxWorld } from './support/sandbox';

const ALICE = 200;

interface Message {
  message_id: number;
  text?: string;
  from?: { id: number; is_bot: boolean };
  reply_markup?: unknown;
}

async function control<T>(sandbox: Sandbox, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sandbox.emulatorUrl}/__emulator${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (res.status !== 200) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Alice sends a text through the emulator's control API, as the web chat does. */
const send = (sandbox: Sandbox, text: string) => control<Message>(sandbox, 'POST', `/users/${ALICE}/messages`, { text });
/** The bot's next message to Alice after message `after`. */
const nextBotMessage = (sandbox: Sandbox, after: number) => control<Message>(sandbox, 'GET', `/chats/${ALICE}/bot-messages/next?after=${after}&timeoutMs=15000`);
const chat = (sandbox: Sandbox) => control<Message[]>(sandbox, 'GET', `/chats/${ALICE}/messages`);

describe('the sandbox started a second time', () => {
  let world: SandboxWorld;

  beforeAll(async () => {
    world = await sandboxWorld('sandbox-restart');
  });
  afterAll(() => world?.cleanup());

  const run = () => world.start();

  /** Ctrl-C in the terminal: SIGINT to the whole job (npm and the runner). */
  async function ctrlC(sandbox: Sandbox): Promise<void> {
    const tree = processTree(sandbox.npm.pid!);
    process.kill(-sandbox.npm.pid!, 'SIGINT');
    await waitFor(() => tree.every((p) => !isRunning(p)), { what: 'the first run to stop', timeout: (SHUTDOWN_TIMEOUT_S + KILL_MARGIN_S) * 1000 });
    expect(await sandbox.exited).toEqual({ code: 0, signal: null });
  }

  it('answers /start again, keeps the chat, never reuses a message id, and queues a new link', async () => {
    // First run: Alice says /start and gets an answer.
    const first = await run();
    const start1 = await send(first, '/start');
    const reply1 = await nextBotMessage(first, start1.message_id);
    expect(reply1.from?.is_bot).toBe(true);
    const firstChat = await chat(first);
    await ctrlC(first);

    // Second run, on the same database, Redis prefix and state file (on new free ports: the
    // first run's may have been taken meanwhile by another test file).
    const second = await run();
    // The chat came back as it was.
    expect((await chat(second)).map((m) => m.message_id)).toEqual(expect.arrayContaining(firstChat.map((m) => m.message_id)));
    const lastId = Math.max(...firstChat.map((m) => m.message_id));

    const start2 = await send(second, '/start');
    expect(start2.message_id).toBeGreaterThan(lastId);
    const reply2 = await nextBotMessage(second, start2.message_id);
    expect(reply2.from?.is_bot).toBe(true);

    const link = 'https://www.youtube.com/watch?v=second-run';
    const sent = await send(second, link);
    expect(sent.message_id).toBeGreaterThan(reply2.message_id);
    const card = await waitFor(async () => (await chat(second)).find((m) => m.from?.is_bot && m.message_id > sent.message_id && (m.text ?? '').includes('second-run') && m.reply_markup), {
      what: "the link's card",
      timeout: 15_000,
      interval: 100,
    });
    const row = await waitFor(async () => (await world.db.link.findFirst({ where: { userId: BigInt(ALICE), url: link } })) ?? undefined, { what: 'the link in the links table', timeout: 15_000 });
    expect(row).toMatchObject({ status: 'queued', messageId: sent.message_id });
    await waitFor(async () => (await world.db.link.findUnique({ where: { id: row.id } }))?.replyMessageId === card.message_id, { what: "the card's id on the link", timeout: 15_000 });

    await ctrlC(second);
  });
});
