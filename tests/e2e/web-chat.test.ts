import { chromium, type Browser } from 'playwright-core';
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
    await reply.getByRole('button', { name: '480', exact: true }).click();
    await page.locator('.toast').getByText('Quality: 480').waitFor();
    await reply.getByText('Quality: 480').waitFor();
    expect(await system.db.link.findFirst({ where: { url: 'https://vimeo.com/from-the-browser' } })).toMatchObject({ quality: '480' });
    expect(problems).toEqual([]);
    await page.close();
  });
});
