import { ALICE, startSystem, type Sim, type System } from './support/system';
import { waitFor } from '@dwld/testkit';

// A person's link from the chat to the right downloader, through every service as it ships.
describe('a link’s journey through the whole system', () => {
  let system: System;
  let video: Sim;
  let anything: Sim;

  beforeAll(async () => {
    system = await startSystem();
    video = await system.startSim('video-nas', 'youtube.com,vimeo.com');
  });
  afterAll(() => system?.stop());

  it('reaches the right downloader with the chosen quality and folder; the messages go and the person is told', async () => {
    const alice = system.emulator.user({ id: ALICE });
    const sent = await alice.sendText('https://m.youtube.com/watch?v=journey');
    const reply = await alice.nextBotMessage((m) => (m.text ?? '').includes('journey') && Boolean(m.reply_markup));
    const buttons = (reply.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> }).inline_keyboard.flat();
    await alice.pressButton(reply.message_id, buttons.find((b) => b.text === '720')!.callback_data).answer();
    await alice.pressButton(reply.message_id, buttons.find((b) => b.text === 'Films')!.callback_data).answer();

    const told = await alice.nextBotMessage((m) => (m.text ?? '').includes('taken by'), 30_000);
    expect(told.text).toContain('video-nas');
    const received = await video.received();
    expect(received).toEqual([expect.objectContaining({ link: 'https://m.youtube.com/watch?v=journey', userName: '[alice] Films', maxQuality: 720, outcome: 'queued' })]);
    await waitFor(() => !alice.messages().some((m) => m.message_id === sent.message_id || m.message_id === reply.message_id), { what: 'the link message and the reply to be deleted' });
  });

  it('sends a link no specific downloader takes to the wildcard one, with the default quality', async () => {
    anything = await system.startSim('anything-box', '*');
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://soundcloud.com/some/track');
    await alice.nextBotMessage((m) => (m.text ?? '').includes('taken by') && (m.text ?? '').includes('soundcloud'), 30_000);
    expect(await anything.received()).toEqual([expect.objectContaining({ link: 'https://soundcloud.com/some/track', userName: 'alice', maxQuality: 1080 })]);
  });

  it('retries while the downloader is down, showing the error, and delivers once it is back', async () => {
    await video.setMode('fail');
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://vimeo.com/retry-me');
    const reply = await alice.nextBotMessage((m) => (m.text ?? '').includes('retry-me') && Boolean(m.reply_markup));
    // The only other eligible downloader is the wildcard one: make it refuse once so the error shows.
    await anything.setMode('fail');
    await waitFor(() => alice.messages().find((m) => m.message_id === reply.message_id)?.text?.includes('Waiting to retry'), { what: 'the failure on the card', timeout: 30_000 });
    const card = alice.messages().find((m) => m.message_id === reply.message_id)!.text!;
    expect(card).toContain('No downloader is reachable right now.');
    expect(card).toMatch(/Next try (in \d+ s|now) \(\d\d:\d\d:\d\d UTC\), attempt \d+\./);
    expect(card).not.toMatch(/127\.0\.0\.1|UNAVAILABLE|SetToQueue|Queued/);
    await Promise.all([video.setMode('ok'), anything.setMode('ok')]);
    await alice.nextBotMessage((m) => (m.text ?? '').includes('taken by') && (m.text ?? '').includes('retry-me'), 30_000);
    const all = [...(await video.received()), ...(await anything.received())].filter((r) => r.link === 'https://vimeo.com/retry-me' && r.outcome === 'queued');
    expect(all).toHaveLength(1);
  });

  it('tells the person in plain words that the downloaders refused a link, and gives up on it', async () => {
    await Promise.all([video.setMode('refuse'), anything.setMode('refuse')]);
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://vimeo.com/refused-everywhere');
    const reply = await alice.nextBotMessage((m) => (m.text ?? '').includes('refused-everywhere') && Boolean(m.reply_markup));
    await waitFor(() => alice.messages().find((m) => m.message_id === reply.message_id)?.text?.includes('Not downloaded'), { what: 'the card to say it was not downloaded', timeout: 30_000 });
    const card = alice.messages().find((m) => m.message_id === reply.message_id)!;
    // The most specific downloader was asked first: its own words.
    expect(card.text).toContain('The downloader refused this link: “video-nas refuses this link (simulated refusal)”');
    expect(card.text).toMatch(/Gave up after 3 attempt/);
    expect(card.text).not.toMatch(/127\.0\.0\.1|INVALID_ARGUMENT|SetToQueue|Queued/);
    expect((card.reply_markup as { inline_keyboard: Array<Array<{ text: string }>> }).inline_keyboard.flat().map((b) => b.text)).toEqual(['↻ Try again', '✖ Remove']);
    await Promise.all([video.setMode('ok'), anything.setMode('ok')]);
  });

  it('reaches a downloader that re-registered on a new port there', async () => {
    await video.stop();
    const moved = await system.startSim('video-nas', 'youtube.com,vimeo.com');
    expect(moved.grpcPort).not.toBe(video.grpcPort);
    // The wildcard downloader refuses, so only the moved one can take the link.
    await anything.setMode('refuse');
    const alice = system.emulator.user({ id: ALICE });
    await alice.sendText('https://youtube.com/watch?v=moved');
    const told = await alice.nextBotMessage((m) => (m.text ?? '').includes('taken by') && (m.text ?? '').includes('moved'), 30_000);
    expect(told.text).toContain('video-nas');
    expect(await moved.received()).toEqual([expect.objectContaining({ link: 'https://youtube.com/watch?v=moved', outcome: 'queued' })]);
  });
});
