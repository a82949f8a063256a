import { waitFor } from '@dwld/testkit';
import { ADMIN, API_TOKEN, metric, startSystem, type Sim, type System } from './support/system';

// `docker compose up --scale scheduler=3`: three scheduler processes share the queue.
describe('three schedulers and 500 links', () => {
  let system: System;
  let sims: Sim[];

  beforeAll(async () => {
    system = await startSystem({ schedulers: 3, env: { DISPATCH_DELAY_S: '2' } });
    sims = await Promise.all([system.startSim('nas-a', '*'), system.startSim('nas-b', '*')]);
  });
  afterAll(() => system?.stop());

  it('dispatches every link exactly once', async () => {
    const links = Array.from({ length: 500 }, (_, i) => `https://vimeo.com/scale/${i}`);
    for (let i = 0; i < links.length; i += 100) {
      const res = await fetch(`http://127.0.0.1:${system.gatewayHttp}/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: String(ADMIN), links: links.slice(i, i + 100).map((link) => ({ link })) }),
      });
      expect(res.status).toBe(200);
    }
    const received = async () => (await Promise.all(sims.map((s) => s.received()))).flat().filter((r) => r.link.includes('/scale/'));
    await waitFor(async () => (await received()).length >= 500 && (await system.db.link.count()) === 0, { what: 'all 500 links dispatched', timeout: 90_000, interval: 250 });
    const got = await received();
    const counts = new Map<string, number>();
    for (const r of got) counts.set(r.link, (counts.get(r.link) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...links].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(await system.db.dispatch.count({ where: { url: { contains: '/scale/' } } })).toBe(500);
    // All three took part.
    const perScheduler = await Promise.all(system.schedulerHttp.map((port) => metric(port, 'dwld_scheduler_links_dispatched_total')));
    expect(perScheduler.reduce((a, b) => a + b, 0)).toBe(500);
    for (const n of perScheduler) expect(n).toBeGreaterThan(0);
  });
});
