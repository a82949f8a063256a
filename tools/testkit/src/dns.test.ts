import { promises as dns } from 'node:dns';
import { TestDnsServer } from './dns';

describe('TestDnsServer', () => {
  let server: TestDnsServer;
  let resolver: dns.Resolver;

  beforeAll(async () => {
    server = await TestDnsServer.start({ 'inward.test': ['127.0.0.1', '::ffff:127.0.0.1'], 'v6.test': ['2001:db8::1', '::1'], 'quiet.test': 'silent' });
    resolver = new dns.Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([server.address]);
  });
  afterAll(() => server.stop());

  it('answers A and AAAA from the names it was given', async () => {
    expect(await resolver.resolve4('Inward.Test')).toEqual(['127.0.0.1']);
    expect(await resolver.resolve6('inward.test')).toEqual(['::ffff:127.0.0.1']);
    expect(await resolver.resolve6('v6.test')).toEqual(['2001:db8::1', '::1']);
    expect(server.queries('inward.test')).toBe(2);
  });

  it('answers NXDOMAIN for a name it does not know, no records for a family it has none of', async () => {
    await expect(resolver.resolve4('nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('v6.test')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('never answers a silent name, and follows changes', async () => {
    await expect(resolver.resolve4('quiet.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    server.set('quiet.test', ['93.184.215.14']);
    expect(await resolver.resolve4('quiet.test')).toEqual(['93.184.215.14']);
    server.delete('quiet.test');
    await expect(resolver.resolve4('quiet.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
