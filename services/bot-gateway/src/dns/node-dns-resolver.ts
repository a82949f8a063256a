import { promises as dns } from 'node:dns';
import { errorMessage } from '@dwld/errors';
import type { HostResolution, HostResolver } from './host-resolver';

export interface NodeDnsResolverOptions {
  /** host[:port] of the DNS servers to ask (DNS_SERVERS); empty: the system's (/etc/resolv.conf). */
  servers: readonly string[];
  /** The longest a resolution may take, both families together (DNS_TIMEOUT_S). */
  timeoutMs: number;
}

// Answers that say "no such address": the name does not exist, or has none of this family.
const NO_SUCH_ADDRESS = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * HostResolver over node's c-ares resolver: A and AAAA asked at once, of the given servers,
 * bounded by one overall timeout. It asks DNS only (no /etc/hosts): what a link's host is on
 * the network the downloaders share, not on this machine.
 */
export class NodeDnsResolver implements HostResolver {
  private readonly resolver: dns.Resolver;

  constructor(private readonly options: NodeDnsResolverOptions) {
    this.resolver = new dns.Resolver({ timeout: Math.max(1, options.timeoutMs), tries: 1 });
    if (options.servers.length > 0) this.resolver.setServers([...options.servers]);
  }

  async resolve(host: string): Promise<HostResolution> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${this.options.timeoutMs} ms`), { code: 'ETIMEOUT' })), this.options.timeoutMs);
    });
    const ask = (family: Promise<string[]>) => Promise.race([family, timedOut]);
    // Both must settle before the timer goes: a rejection of `timedOut` with nobody left listening is harmless.
    timedOut.catch(() => undefined);
    try {
      const answers = await Promise.allSettled([ask(this.resolver.resolve4(host)), ask(this.resolver.resolve6(host))]);
      const addresses = answers.flatMap((answer) => (answer.status === 'fulfilled' ? answer.value : []));
      const failures = answers.flatMap((answer) => (answer.status === 'rejected' ? [codeOf(answer.reason)] : []));
      const complete = failures.every((code) => NO_SUCH_ADDRESS.has(code));
      if (addresses.length > 0) return { addresses, complete };
      return { addresses, complete, failure: failures.find((code) => !NO_SUCH_ADDRESS.has(code)) ?? failures[0] ?? 'ENODATA' };
    } finally {
      clearTimeout(timer);
    }
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : errorMessage(err);
}
