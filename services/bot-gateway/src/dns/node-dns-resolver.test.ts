import { TestDnsServer } from '@dwld/testkit';
import { NodeDnsResolver } from './node-dns-resolver';

describe('NodeDnsResolver against a DNS server of the test', () => {
  let dns: TestDnsServer;
  let resolver: NodeDnsResolver;

  beforeAll(async () => {
    dns = await TestDnsServer.start({
      'inward.test': ['127.0.0.1'],
      'metadata.test': ['169.254.169.254'],
      'both.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      'mapped.test': ['::ffff:127.0.0.1'],
      'quiet.test': 'silent',
    });
    resolver = new NodeDnsResolver({ servers: [dns.address], timeoutMs: 300 });
  });
  afterAll(() => dns.stop());

  it('finds the IPv4 and IPv6 addresses of a name, the answer complete', async () => {
    expect(await resolver.resolve('inward.test')).toEqual({ addresses: ['127.0.0.1'], complete: true });
    expect(await resolver.resolve('metadata.test')).toEqual({ addresses: ['169.254.169.254'], complete: true });
    expect(await resolver.resolve('mapped.test')).toEqual({ addresses: ['::ffff:127.0.0.1'], complete: true });
    const both = await resolver.resolve('BOTH.test');
    expect(both.complete).toBe(true);
    expect(both.addresses.sort()).toEqual(['2606:2800:21f:cb07:6820:80da:af6b:8b2c', '93.184.215.14']);
  });

  it('says why a name has no address: no such name', async () => {
    expect(await resolver.resolve('nowhere.test')).toEqual({ addresses: [], complete: true, failure: 'ENOTFOUND' });
  });

  it('gives up after its timeout on a server that never answers, with the answer incomplete', async () => {
    expect(await resolver.resolve('quiet.test')).toEqual({ addresses: [], complete: false, failure: 'ETIMEOUT' });
  });

  it('fails without rejecting when no DNS server listens', async () => {
    const spare = await TestDnsServer.start();
    const address = spare.address;
    await spare.stop();
    const nobody = new NodeDnsResolver({ servers: [address], timeoutMs: 300 });
    const answer = await nobody.resolve('inward.test');
    expect(answer).toMatchObject({ addresses: [], complete: false });
    expect(answer.failure).toMatch(/^E[A-Z]+$/);
  });
});
