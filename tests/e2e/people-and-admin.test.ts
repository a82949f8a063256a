import { waitFor } from '@dwld/testkit';
import { ADMIN, ALICE, API_TOKEN, BOB, metric, startSystem, type Sim, type System } from './support/system';

// Two users and an admin on the whole system: what each may see and do.
describe('two users and an admin', () => {
  let system: System;
  let sim: Sim;

  beforeAll(async () => {
    // A long delay: links stay queued while the people look at them.
    system = await startSystem({ env: { DISPATCH_DELAY_S: '600' } });
    sim = await system.startSim('home-nas', '*');
  });
  afterAll(() => system?.stop());

  const text = async (who: number, message: string, expect: (t: string) => boolean) => {
    const user = system.emulator.user({ id: who });
    user.sendText(message);
    return (await user.nextBotMessage((m) => expect(m.text ?? ''), 20_000)).text ?? '';
  };

  it('keeps /queue and /remove to each person’s own links; the admin sees and removes everybody’s', async () => {
    await text(ALICE, 'https://vimeo.com/alice-1', (t) => t.includes('alice-1'));
    await text(BOB, 'https://vimeo.com/bob-1', (t) => t.includes('bob-1'));

    const aliceQueue = await text(ALICE, '/queue', (t) => t.includes('Queue'));
    expect(aliceQueue).toContain('alice-1');
    expect(aliceQueue).not.toContain('bob-1');
    expect(await text(ALICE, '/remove https://vimeo.com/bob-1', (t) => t.includes('bob-1'))).toContain('No queued link');

    const adminQueue = await text(ADMIN, '/queue', (t) => t.includes('Queue'));
    expect(adminQueue).toContain('@alice');
    expect(adminQueue).toContain('@bob');
    expect(await text(ADMIN, '/remove https://vimeo.com/bob-1', (t) => t.includes('Removed'))).toContain('bob-1');
    expect(await text(BOB, '/queue', (t) => t.includes('queue') || t.includes('Queue'))).not.toContain('bob-1');
  });

  it('gives the admin /downloaders, /status and /clean, and refuses them to users', async () => {
    expect(await text(ADMIN, '/downloaders', (t) => t.includes('home-nas'))).toContain(`127.0.0.1:${sim.grpcPort}`);
    expect(await text(ADMIN, '/status', (t) => t.includes('home-nas'))).toMatch(/home-nas/);
    // /clean asks first; "yes" turns the question into the outcome.
    const admin = system.emulator.user({ id: ADMIN });
    admin.sendText('/clean');
    const question = await admin.nextBotMessage((m) => (m.text ?? '').includes('Clean the history'), 20_000);
    expect(question.text).toContain('home-nas');
    const yes = (question.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat().find((b) => b.text.includes('Yes'))!;
    await (await admin.pressButton(question.message_id, yes.callback_data)).answer();
    await waitFor(() => admin.messages().find((m) => m.message_id === question.message_id)?.text?.includes('home-nas: 0 history entries cleaned'), { what: 'the cleaning outcome' });
    expect(await text(BOB, '/downloaders', (t) => t.includes('administrators'))).toContain('administrators');
  });

  it('holds every link while /pooloff and sends them after /poolon', async () => {
    expect(await text(ADMIN, '/pooloff', (t) => t.includes('paused'))).toContain('paused');
    const res = await fetch(`http://127.0.0.1:${system.gatewayHttp}/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: String(ALICE), links: [{ link: 'https://vimeo.com/paused-1' }] }),
    });
    expect(res.status).toBe(200);
    // Its card (sent to Alice's chat) says it is paused, not that it is about to be sent.
    const alice = system.emulator.user({ id: ALICE });
    const card = await alice.nextBotMessage((m) => (m.text ?? '').includes('paused-1'), 20_000);
    expect(card.text).toContain('⏸ Paused');
    expect(card.text).toContain('Dispatching is paused by an administrator');
    // Make it due now, as if its delay had passed, and let the scheduler look twice.
    await system.db.link.updateMany({ where: { url: 'https://vimeo.com/paused-1' }, data: { sendAt: new Date() } });
    const polls = await metric(system.schedulerHttp[0]!, 'dwld_scheduler_polls_total');
    await waitFor(async () => (await metric(system.schedulerHttp[0]!, 'dwld_scheduler_polls_total')) >= polls + 2, { what: 'two more polls' });
    expect(await metric(system.schedulerHttp[0]!, 'dwld_scheduler_paused')).toBe(1);
    expect((await sim.received()).filter((r) => r.link.includes('paused-1'))).toEqual([]);
    expect(await system.db.link.count({ where: { url: 'https://vimeo.com/paused-1' } })).toBe(1);
    expect(await text(ADMIN, '/poolon', (t) => t.includes('resumed'))).toContain('resumed');
    await waitFor(async () => (await sim.received()).some((r) => r.link === 'https://vimeo.com/paused-1'), { what: 'the held link to go out', timeout: 20_000 });
    // Once handed over, its card goes and the person is told who took it.
    await alice.nextBotMessage((m) => (m.text ?? '').includes('paused-1') && (m.text ?? '').includes('taken by'), 20_000);
    await waitFor(() => !alice.messages().some((m) => m.message_id === card.message_id), { what: 'the paused card to go' });
  });
});
