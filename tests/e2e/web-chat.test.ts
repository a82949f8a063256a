import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TelegramEmulator, type Update } from '@dwld/telegram-emulator';
import { waitFor } from '@dwld/testkit';
import { ALICE, startSystem, type System } from './support/system';

// Debian's Chromium (apt-get install chromium; .ci/run installs it), driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('the sandbox web chat in a real browser', () => {
  let system: System;
  let browser: Browser;

  beforeAll(async () => {
    system = await startSystem();
    await system.startSim('home-nas', '*');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  /** A page that records its errors; `problems` must stay empty. */
  async function openPage(url: string, viewport?: { width: number; height: number }): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage(viewport ? { viewport } : {});
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(url);
    return { page, problems };
  }

  it('sends a link, presses a quality button and sees the confirmation', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${system.emulator.url}/?as=${ALICE}`);
    await page.locator('#me').getByText(String(ALICE)).waitFor();

    await page.locator('#text').fill('https://vimeo.com/from-the-browser');
    await page.locator('#text').press('Enter');
    const reply = page.locator('.msg.in').filter({ hasText: 'from-the-browser' });
    await reply.getByText('Quality: 1080').waitFor();
    await reply.getByRole('button', { name: '1440', exact: true }).click();
    await page.locator('.toast').getByText('Quality: 1440').waitFor();
    await reply.getByText('Quality: 1440').waitFor();
    expect(await system.db.link.findFirst({ where: { url: 'https://vimeo.com/from-the-browser' } })).toMatchObject({ quality: '1440' });

    // The bot's remove button ("✖", or "✖ Remove"): its text as a tooltip, and a name that reads.
    const remove = reply.getByRole('button', { name: 'Remove', exact: true });
    expect(await remove.getAttribute('title')).toBe(await remove.textContent());
    expect(await remove.textContent()).toMatch(/^✖/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('sends a long paste as two messages, and says so before sending (390 px wide)', async () => {
    const { page, problems } = await openPage(`${system.emulator.url}/?as=${ALICE}`, { width: 390, height: 844 });
    await page.locator('#me').getByText(String(ALICE)).waitFor();
    const text = Array.from({ length: 1000 }, (_, i) => `paste${i}`).join(' ').slice(0, 5000);
    expect(text).toHaveLength(5000);

    await page.locator('#text').fill(text);
    const notice = page.locator('#length-notice');
    await notice.getByText('5,000 characters: will be sent as 2 messages').waitFor();
    expect(await page.locator('#text').inputValue()).toBe(text);
    await page.locator('#text').press('Enter');

    // Both parts reach the bot (its getUpdates), in order, each within Telegram's limit.
    const received = await waitFor(
      () => {
        const texts = system.emulator
          .calls('getUpdates')
          .flatMap((call) => (call.response.ok ? (call.response.result as Update[]) : []))
          .filter((update) => update.message?.from?.id === ALICE && update.message.text?.startsWith('paste'))
          .map((update) => update.message!.text!);
        const unique = [...new Set(texts)];
        return unique.length >= 2 ? unique : undefined;
      },
      { what: 'the bot to get both parts' },
    );
    expect(received).toHaveLength(2);
    expect(received.every((part) => part.length <= 4096)).toBe(true);
    expect(received.join(' ')).toBe(text);
    await page.locator('.msg.out').filter({ hasText: text.slice(-20) }).waitFor();
    // The input is cleared once the last part's POST is answered, which may come after the event stream showed it.
    await waitFor(async () => (await page.locator('#text').inputValue()) === '', { what: 'the input to be cleared' });
    await notice.waitFor({ state: 'hidden' });
    // Nothing sticks out sideways at a phone's width.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('names every button: its text as a tooltip, and a readable name for a symbol', async () => {
    // An emulator of this test's own: the bot's keyboards are the test's to choose.
    const own = new TelegramEmulator({ bots: [{ token: '4343:buttons-e2e' }] });
    await own.start();
    try {
      own.user({ id: ALICE }).sendText('hi');
      const sent = await own.callApi('4343:buttons-e2e', 'sendMessage', {
        chat_id: ALICE,
        text: 'Pick',
        reply_markup: { inline_keyboard: [[{ text: '✖', callback_data: 'rm' }, { text: '720', callback_data: 'q' }], [{ text: 'Site', url: 'https://example.com/' }]] },
      });
      expect(sent.body.ok).toBe(true);
      await own.callApi('4343:buttons-e2e', 'sendMessage', {
        chat_id: ALICE,
        text: 'Keyboard',
        reply_markup: { keyboard: [[{ text: '📱 Share my contact', request_contact: true }], [{ text: '◀' }]] },
      });
      const { page, problems } = await openPage(`${own.url}/?as=${ALICE}`, { width: 390, height: 844 });
      const pick = page.locator('.msg.in').filter({ hasText: 'Pick' });
      const remove = pick.getByRole('button', { name: 'Remove', exact: true });
      await remove.waitFor();
      expect([await remove.textContent(), await remove.getAttribute('title')]).toEqual(['✖', '✖']);
      const quality = pick.getByRole('button', { name: '720', exact: true });
      expect([await quality.getAttribute('title'), await quality.getAttribute('aria-label')]).toEqual(['720', null]);
      expect(await pick.getByRole('link', { name: 'Site' }).getAttribute('title')).toBe('Site (opens https://example.com/)');
      const keyboard = page.locator('#reply-keyboard');
      expect(await keyboard.getByRole('button', { name: 'Back', exact: true }).getAttribute('title')).toBe('◀');
      expect(await keyboard.getByRole('button', { name: '📱 Share my contact' }).getAttribute('title')).toBe('📱 Share my contact (shares your contact)');

      // The named button is the real one: pressing it sends its callback.
      const update = new Promise<Update>((resolve) => own.once('update', (event) => resolve(event.update)));
      await remove.click();
      expect((await update).callback_query?.data).toBe('rm');
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await own.stop();
    }
  });

  it('says plainly when the sandbox is gone, shows the lost connection, and catches up when it is back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'web-chat-e2e-'));
    const stateFile = path.join(dir, 'telegram-emulator.json');
    const token = '4444:restart-e2e';
    let own = new TelegramEmulator({ stateFile, bots: [{ token }], stateIdOrigin: 0 });
    try {
      await own.start();
      const port = Number(new URL(own.url).port);
      own.user({ id: ALICE }).sendText('before the restart');
      const { page, problems } = await openPage(`${own.url}/?as=${ALICE}`);
      await page.locator('.msg.out').filter({ hasText: 'before the restart' }).waitFor();
      await page.locator('#status').getByText('Live').waitFor();
      const banner = page.locator('#connection');
      expect(await banner.isHidden()).toBe(true);

      await own.stop();
      await banner.getByText('Disconnected from the sandbox — reconnecting…').waitFor();
      await page.locator('#text').fill('sent once it is back');
      await page.locator('#text').press('Enter');
      const toast = page.locator('.toast.error');
      await toast.getByText('The sandbox is not reachable: is “npm start” still running?', { exact: true }).waitFor();
      expect(await toast.allTextContents()).not.toContain('Failed to fetch');
      // Nothing typed is lost.
      expect(await page.locator('#text').inputValue()).toBe('sent once it is back');

      // The sandbox again, with its state file; something happens before the page is back, so
      // only the snapshot of the new connection can show it.
      own = new TelegramEmulator({ stateFile, port });
      const meanwhile = own.user({ id: ALICE }).sendText('while the page was away');
      expect(meanwhile.message_id).toBe(2);
      await own.start();
      await page.locator('.msg.out').filter({ hasText: 'while the page was away' }).waitFor();
      await banner.waitFor({ state: 'hidden' });
      await page.locator('#status').getByText('Live').waitFor();
      expect(await page.locator('.msg .text').allTextContents()).toEqual(['before the restart', 'while the page was away']);

      await page.locator('#send').click();
      await page.locator('.msg.out').filter({ hasText: 'sent once it is back' }).waitFor();
      expect(own.chatMessages(ALICE).map((message) => [message.message_id, message.text])).toEqual([
        [1, 'before the restart'],
        [2, 'while the page was away'],
        [3, 'sent once it is back'],
      ]);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
