import { isIP } from 'node:net';

/** A Telegram message entity; only the fields links are read from. */
export interface MessageEntity {
  type: string;
  /** In UTF-16 code units, as JavaScript strings count. */
  offset: number;
  length: number;
  url?: string;
}

export interface LinkPolicy {
  /** Longest accepted input, in UTF-16 code units of the raw text (before any normalisation). */
  maxLength: number;
  /** Lets links to loopback, private, link-local, reserved addresses and local names through. */
  allowPrivateHosts: boolean;
}

export interface AcceptedLink {
  /** The WHATWG-normalised href (scheme added when the input had none). */
  url: string;
  /** Lower-case ASCII (punycode) host without a trailing dot; IPv6 without brackets. Subdomains kept: routing matches parents. */
  host: string;
}

/**
 * Why a link was refused; the caller turns it into words. `private_address`: the host's name
 * resolves only to non-public addresses (see resolvesOnlyToPrivate); validateLink never says it.
 */
export type LinkRejection = 'too_long' | 'not_a_url' | 'scheme' | 'credentials' | 'private_host' | 'private_address' | 'no_host';

export type LinkValidation = { ok: true; link: AcceptedLink } | { ok: false; reason: LinkRejection };

// A scheme followed by "//", or "www.", at the start of a word. The look-behind keeps the
// scan linear: a match is only tried where a word starts.
const LINK_IN_TEXT = /(?<![\w+.-])(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s<>"]+/giu;
// Sentence punctuation that ends a link typed in prose, not the link itself.
const TRAILING_PUNCTUATION = /[.,;:!?'"»”’…]+$/u;
const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

/**
 * The candidate links of a message, de-duplicated, in the order they appear: `url` entities
 * (the text they cover), `text_link` entities (their url), and, when the message carries no
 * entities at all, the `scheme://…` and `www.…` words of the text. Never throws.
 */
export function extractLinks(text: string, entities?: readonly MessageEntity[]): string[] {
  const source = typeof text === 'string' ? text : '';
  const candidates = entities && entities.length > 0 ? linksFromEntities(source, entities) : linksFromText(source);
  return [...new Set(candidates.filter((candidate) => candidate.length > 0))];
}

function linksFromEntities(text: string, entities: readonly MessageEntity[]): string[] {
  const ordered = entities
    .map((entity, index) => ({ entity, index }))
    .filter(({ entity }) => entity !== null && typeof entity === 'object')
    // Telegram sends entities ordered by offset; sorting (stably) makes "in order" hold for any input.
    .sort((a, b) => offsetOf(a.entity) - offsetOf(b.entity) || a.index - b.index);
  const links: string[] = [];
  for (const { entity } of ordered) {
    if (entity.type === 'text_link' && typeof entity.url === 'string') {
      links.push(entity.url.trim());
    } else if (entity.type === 'url') {
      const { offset, length } = entity;
      const inRange = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length > 0 && offset + length <= text.length;
      if (inRange) links.push(text.slice(offset, offset + length).trim());
    }
  }
  return links;
}

function offsetOf(entity: MessageEntity): number {
  return Number.isFinite(entity.offset) ? entity.offset : Number.MAX_SAFE_INTEGER;
}

function linksFromText(text: string): string[] {
  return [...text.matchAll(LINK_IN_TEXT)].map((match) => trimProse(match[0]));
}

/** Drops sentence punctuation and unbalanced closing brackets after a link ("(see https://x.org/a_(b))."). */
function trimProse(word: string): string {
  let link = word;
  for (;;) {
    const trimmed = link.replace(TRAILING_PUNCTUATION, '');
    const last = trimmed.slice(-1);
    const opener = CLOSERS[last];
    if (opener !== undefined && count(trimmed, opener) < count(trimmed, last)) {
      link = trimmed.slice(0, -1);
    } else {
      return trimmed;
    }
  }
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

const EXPLICIT_SCHEME = /^([a-z][a-z0-9+.-]*):/i;
// "example.com:8080/x" parses as the scheme "example.com:"; a port after the colon means a host.
const PORT_AFTER_COLON = /^\d+(?:[/?#]|$)/;

/**
 * Checks one candidate link. Accepts http and https only; a link without a scheme
 * (`www.example.com`, `example.com/video`) is taken as https. Never throws.
 */
export function validateLink(raw: string, policy: LinkPolicy): LinkValidation {
  const reject = (reason: LinkRejection): LinkValidation => ({ ok: false, reason });
  try {
    if (typeof raw !== 'string') return reject('not_a_url');
    if (raw.length > policy.maxLength) return reject('too_long');
    const input = raw.trim();
    if (input.length === 0) return reject('not_a_url');

    const scheme = EXPLICIT_SCHEME.exec(input);
    const schemeless = scheme === null || PORT_AFTER_COLON.test(input.slice(scheme[0].length));
    const url = parseUrl(schemeless ? `https://${input}` : input);
    if (url === null) return reject('not_a_url');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject('scheme');
    if (url.username !== '' || url.password !== '') return reject('credentials');

    const host = normaliseHost(url.hostname);
    if (host === '' || host.split('.').includes('')) return reject('no_host');
    // A bare word ("hello") is text, not a link someone meant to send.
    if (schemeless && !host.includes('.') && isIP(host) === 0) return reject('not_a_url');
    if (!policy.allowPrivateHosts && isPrivateHost(host)) return reject('private_host');
    return { ok: true, link: { url: url.href, host } };
  } catch {
    // The URL parser and the checks above do not throw for strings; this keeps the promise for anything else.
    return reject('not_a_url');
  }
}

function parseUrl(input: string): URL | null {
  try {
    return new URL(input);
  } catch {
    return null;
  }
}

/** WHATWG hostnames are already lower-case punycode; drop IPv6 brackets and one trailing dot. */
function normaliseHost(hostname: string): string {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

// Names that only ever resolve inside a machine or a local network (RFC 6761, 6762, 8375; ICANN's .internal).
const LOCAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa'];

/**
 * True for hosts a public link never points at: local-only names, single-label names (they
 * resolve through a LAN's search domain) and IP literals outside public unicast space.
 */
export function isPrivateHost(host: string): boolean {
  const name = normaliseHost(host.toLowerCase());
  if (isIP(name) !== 0) return !isPublicIpAddress(name);
  if (!name.includes('.')) return true;
  return LOCAL_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

/**
 * True when a name's addresses, as resolved, are all outside public unicast space (loopback,
 * private, link-local, IPv4-mapped ones of those…): a link to it can only lead inward. False
 * for none at all (an unresolved name is no evidence) and whenever one address is public.
 */
export function resolvesOnlyToPrivate(addresses: readonly string[]): boolean {
  return addresses.length > 0 && !addresses.some(isPublicIpAddress);
}

type Cidr4 = readonly [network: number, prefixLength: number];

// IPv4 ranges that are not globally reachable unicast (IANA special-purpose registry).
const NON_PUBLIC_IPV4: readonly Cidr4[] = [
  [ipv4('0.0.0.0'), 8], // "this network", unspecified
  [ipv4('10.0.0.0'), 8], // private
  [ipv4('100.64.0.0'), 10], // carrier-grade NAT
  [ipv4('127.0.0.0'), 8], // loopback
  [ipv4('169.254.0.0'), 16], // link-local
  [ipv4('172.16.0.0'), 12], // private
  [ipv4('192.0.0.0'), 24], // IETF protocol assignments
  [ipv4('192.0.2.0'), 24], // documentation
  [ipv4('192.88.99.0'), 24], // 6to4 relay anycast (deprecated)
  [ipv4('192.168.0.0'), 16], // private
  [ipv4('198.18.0.0'), 15], // benchmarking
  [ipv4('198.51.100.0'), 24], // documentation
  [ipv4('203.0.113.0'), 24], // documentation
  [ipv4('224.0.0.0'), 4], // multicast
  [ipv4('240.0.0.0'), 4], // reserved, broadcast
];

/** The address as an unsigned 32-bit number; the input must be a dotted quad. */
function ipv4(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function inCidr4(address: number, [network, prefixLength]: Cidr4): boolean {
  const size = 2 ** (32 - prefixLength);
  return Math.floor(address / size) === Math.floor(network / size);
}

function isPublicIpv4(address: number): boolean {
  return !NON_PUBLIC_IPV4.some((range) => inCidr4(address, range));
}

/** True for a globally reachable unicast address; false for anything else, including non-addresses. */
export function isPublicIpAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(plain);
  if (version === 4) return isPublicIpv4(ipv4(plain));
  if (version === 6) return isPublicIpv6(ipv6Groups(plain));
  return false;
}

function isPublicIpv6(groups: readonly number[]): boolean {
  const group = (index: number): number => groups[index] ?? 0;
  const embeddedV4 = (high: number, low: number): number => group(high) * 0x10000 + group(low);
  const zeroUpTo = (end: number): boolean => groups.slice(0, end).every((value) => value === 0);

  // ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d.
  if (zeroUpTo(5) && group(5) === 0xffff) return isPublicIpv4(embeddedV4(6, 7));
  // ::/96 holds ::, ::1 and the deprecated IPv4-compatible addresses.
  if (zeroUpTo(6)) return false;
  // 64:ff9b::/96, the well-known NAT64 prefix, reaches the embedded IPv4 address.
  if (group(0) === 0x64 && group(1) === 0xff9b && groups.slice(2, 6).every((value) => value === 0)) {
    return isPublicIpv4(embeddedV4(6, 7));
  }
  // Only 2000::/3 is global unicast; that excludes fc00::/7, fe80::/10, fec0::/10, ff00::/8 and
  // the unassigned rest, including the local-use NAT64 prefix 64:ff9b:1::/48.
  if ((group(0) & 0xe000) !== 0x2000) return false;
  // 2001::/23 IETF protocol assignments (Teredo, ORCHID, benchmarking), 2001:db8::/32 and 3fff::/20 documentation.
  if (group(0) === 0x2001 && group(1) < 0x200) return false;
  if (group(0) === 0x2001 && group(1) === 0xdb8) return false;
  if (group(0) === 0x3fff && group(1) < 0x1000) return false;
  // 2002::/16 6to4 carries an IPv4 address in its next 32 bits.
  if (group(0) === 0x2002) return isPublicIpv4(embeddedV4(1, 2));
  return true;
}

/** The eight 16-bit groups of a valid IPv6 address (checked with isIP before). */
function ipv6Groups(address: string): number[] {
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [parseInt(piece, 16)];
      const value = ipv4(piece);
      return [Math.floor(value / 0x10000), value % 0x10000];
    });
  };
  const [head = '', tail] = address.split('::');
  const front = toGroups(head);
  if (tail === undefined) return front;
  const back = toGroups(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
