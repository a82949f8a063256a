import { parseGatewayConfig } from './config';

const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x', REDIS_URL: 'redis://127.0.0.1:6379', TELEGRAM_BOT_TOKEN: '1234567:config-test-token-emulated-only' };

describe('gateway config: link host lookups', () => {
  it('refuses private hosts, asks the system DNS, waits 1.5 s and remembers a minute by default', () => {
    expect(parseGatewayConfig(base)).toMatchObject({ ALLOW_PRIVATE_HOSTS: false, DNS_SERVERS: [], DNS_TIMEOUT_S: 1500, DNS_CACHE_S: 60_000 });
  });

  it('reads DNS servers as IP addresses with optional ports', () => {
    const config = parseGatewayConfig({ ...base, DNS_SERVERS: '1.1.1.1, 127.0.0.1:5353,[::1]:53,2001:4860:4860::8888', DNS_TIMEOUT_S: '0.5', DNS_CACHE_S: '0', ALLOW_PRIVATE_HOSTS: 'true' });
    expect(config).toMatchObject({ DNS_SERVERS: ['1.1.1.1', '127.0.0.1:5353', '[::1]:53', '2001:4860:4860::8888'], DNS_TIMEOUT_S: 500, DNS_CACHE_S: 0, ALLOW_PRIVATE_HOSTS: true });
  });

  it.each([['dns.google'], ['1.1.1.1:0'], ['1.1.1.1:70000'], ['300.1.1.1'], ['[nope]:53']])('refuses DNS_SERVERS=%s, saying what is wrong', (servers) => {
    expect(() => parseGatewayConfig({ ...base, DNS_SERVERS: servers })).toThrow(/DNS_SERVERS.*must be an IP address/s);
  });

  it('holds the lookup timeout to 0.05-30 s', () => {
    expect(() => parseGatewayConfig({ ...base, DNS_TIMEOUT_S: '0' })).toThrow(/DNS_TIMEOUT_S/);
    expect(() => parseGatewayConfig({ ...base, DNS_TIMEOUT_S: '31' })).toThrow(/DNS_TIMEOUT_S/);
  });
});
