import { ConfigError } from '@dwld/config';
import { advertisedHost, parseSimConfig } from './config';

describe('simulated downloader configuration', () => {
  it('applies defaults', () => {
    expect(parseSimConfig({ SIM_NAME: 'sim-1' })).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      SIM_NAME: 'sim-1',
      GRPC_HOST: '0.0.0.0',
      GRPC_PORT: 0,
      FLAVOUR: 'dwld',
      ADVERTISE_HOST: undefined,
      ASSIGN: 'all',
      REGISTRY_ADDRESS: '127.0.0.1:9999',
      REGISTRATION_TOKEN: undefined,
      PATTERNS: ['*'],
      REGISTER_INTERVAL_S: 30_000,
      DOWNLOAD_SECONDS: 10_000,
      DOWNLOAD_SIZE_MB: 100,
      CONCURRENT_DOWNLOADS: 2,
      LATE_REPLY_S: 10_000,
      MODE: 'ok',
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: 8090,
      SHUTDOWN_TIMEOUT_S: 10_000,
    });
  });

  it('parses given values', () => {
    const config = parseSimConfig({
      SIM_NAME: 'video',
      GRPC_PORT: '7001',
      ADVERTISE_HOST: 'nas.lan',
      REGISTRY_ADDRESS: 'registry:9999',
      REGISTRATION_TOKEN: 'a-long-enough-token',
      PATTERNS: 'YouTube.com, vimeo.com',
      REGISTER_INTERVAL_S: '0.5',
      DOWNLOAD_SECONDS: '0',
      DOWNLOAD_SIZE_MB: '5',
      CONCURRENT_DOWNLOADS: '3',
      MODE: 'hang',
      HTTP_PORT: '0',
    });
    expect(config).toMatchObject({
      GRPC_PORT: 7001,
      ADVERTISE_HOST: 'nas.lan',
      REGISTRY_ADDRESS: 'registry:9999',
      REGISTRATION_TOKEN: 'a-long-enough-token',
      PATTERNS: ['youtube.com', 'vimeo.com'],
      REGISTER_INTERVAL_S: 500,
      DOWNLOAD_SECONDS: 0,
      DOWNLOAD_SIZE_MB: 5,
      CONCURRENT_DOWNLOADS: 3,
      MODE: 'hang',
      HTTP_PORT: 0,
    });
    expect(parseSimConfig({ SIM_NAME: 'x', REGISTRY_ADDRESS: '[::1]:9999' }).REGISTRY_ADDRESS).toBe('[::1]:9999');
  });

  it('registers 127.0.0.1 unless told, or nothing (an empty host) with FLAVOUR=go, as a Go downloader listening everywhere', () => {
    expect(advertisedHost(parseSimConfig({ SIM_NAME: 'x' }))).toBe('127.0.0.1');
    expect(advertisedHost(parseSimConfig({ SIM_NAME: 'x', ADVERTISE_HOST: 'nas.lan' }))).toBe('nas.lan');
    expect(advertisedHost(parseSimConfig({ SIM_NAME: 'x', FLAVOUR: 'go' }))).toBe('');
    expect(advertisedHost(parseSimConfig({ SIM_NAME: 'x', FLAVOUR: 'go', ADVERTISE_HOST: '0.0.0.0' }))).toBe('0.0.0.0');
    // ASSIGN is kept raw inside (only the ends of the variable are trimmed, as for every variable).
    expect(parseSimConfig({ SIM_NAME: 'x', FLAVOUR: 'go', ASSIGN: 'youtube.com, rutube.ru,' }).ASSIGN).toBe('youtube.com, rutube.ru,');
  });

  it.each([
    [{ SIM_NAME: 'x', FLAVOUR: 'rust' }, 'FLAVOUR is invalid: must be one of dwld, go'],
    [{}, 'SIM_NAME is required'],
    [{ SIM_NAME: ' ' }, 'SIM_NAME is required'],
    [{ SIM_NAME: 'x', MODE: 'explode' }, 'MODE is invalid: must be one of ok, fail, refuse, hang'],
    [{ SIM_NAME: 'x', REGISTRY_ADDRESS: 'registry' }, 'REGISTRY_ADDRESS is invalid: must be host:port'],
    [{ SIM_NAME: 'x', REGISTRY_ADDRESS: 'registry:70000' }, 'REGISTRY_ADDRESS is invalid: must be host:port'],
    [{ SIM_NAME: 'x', PATTERNS: 'youtube.com,https://vimeo.com' }, 'PATTERNS is invalid: "https://vimeo.com" must be a host name'],
    [{ SIM_NAME: 'x', PATTERNS: ',' }, 'PATTERNS is invalid: must list at least one pattern'],
    [{ SIM_NAME: 'x', CONCURRENT_DOWNLOADS: '0' }, 'CONCURRENT_DOWNLOADS is invalid: must be at least 1'],
    [{ SIM_NAME: 'x', DOWNLOAD_SECONDS: 'soon' }, 'DOWNLOAD_SECONDS is invalid: must be a number of seconds'],
    [{ SIM_NAME: 'x', REGISTRATION_TOKEN: 'short' }, 'REGISTRATION_TOKEN is invalid: must be at least 16 characters'],
    [{ SIM_NAME: 'x', GRPC_PORT: '65536' }, 'GRPC_PORT is invalid: must be at most 65535'],
  ])('rejects %j with one line naming the variable', (env, expected) => {
    let caught: unknown;
    try {
      parseSimConfig(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toContain(expected);
    expect((caught as Error).message).not.toContain('\n');
  });
});
