import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

/** A name's answer: its addresses (IPv4 and IPv6 mixed), or `silent` (the query is never answered: a timeout). */
export type DnsAnswer = readonly string[] | 'silent';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const RCODE_NXDOMAIN = 3;
const RCODE_FORMERR = 1;

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP) for tests: names the test adds resolve to
 * the addresses it gives (A and AAAA), names it does not know answer NXDOMAIN, a known name
 * without addresses of the family asked answers NOERROR with no records, and a `silent` name
 * is never answered. Names match case-insensitively, without a trailing dot. No traffic leaves
 * the machine.
 */
export class TestDnsServer {
  private readonly names = new Map<string, DnsAnswer>();
  private readonly asked = new Map<string, number>();

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(records: Record<string, DnsAnswer> = {}): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    const server = new TestDnsServer(socket, socket.address().port);
    for (const [name, answer] of Object.entries(records)) server.set(name, answer);
    socket.on('message', (query, from) => server.answer(query, from));
    return server;
  }

  /** host:port, as DNS_SERVERS (and node's Resolver.setServers) take it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(name: string, answer: DnsAnswer): void {
    if (answer !== 'silent') {
      for (const address of answer) if (!isIPv4(address) && !isIPv6(address)) throw new Error(`${address} is not an IP address`);
    }
    this.names.set(normalise(name), answer);
  }

  delete(name: string): void {
    this.names.delete(normalise(name));
  }

  /** Queries received for a name (A and AAAA counted apart). */
  queries(name: string): number {
    return this.asked.get(normalise(name)) ?? 0;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer, from: RemoteInfo): void {
    const question = readQuestion(query);
    if (question === null) {
      if (query.length >= 12) this.reply(from, header(query, RCODE_FORMERR, 0, 0), []);
      return;
    }
    this.asked.set(question.name, (this.asked.get(question.name) ?? 0) + 1);
    const known = this.names.get(question.name);
    if (known === 'silent') return;
    const questionBytes = query.subarray(12, question.end);
    if (known === undefined) return this.reply(from, header(query, RCODE_NXDOMAIN, 1, 0), [questionBytes]);
    const wanted = known.filter((address) => (question.type === TYPE_A ? isIPv4(address) : question.type === TYPE_AAAA ? isIPv6(address) : false));
    const records = wanted.map((address) => record(question.type, address));
    this.reply(from, header(query, 0, 1, records.length), [questionBytes, ...records]);
  }

  private reply(to: RemoteInfo, head: Buffer, parts: Buffer[]): void {
    this.socket.send(Buffer.concat([head, ...parts]), to.port, to.address);
  }
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The first question's name, type and where it ends; null for a packet that is not a query. */
function readQuestion(packet: Buffer): { name: string; type: number; end: number } | null {
  if (packet.length < 12 || (packet[2]! & 0x80) !== 0 || packet.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    if (at >= packet.length) return null;
    const length = packet[at]!;
    at += 1;
    if (length === 0) break;
    if (length > 63 || at + length > packet.length) return null;
    labels.push(packet.toString('latin1', at, at + length));
    at += length;
  }
  if (at + 4 > packet.length) return null;
  return { name: normalise(labels.join('.')), type: packet.readUInt16BE(at), end: at + 4 };
}

/** The answer's header: the query's id, opcode and RD, with QR and RA set. */
function header(query: Buffer, rcode: number, questions: number, answers: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(query.readUInt16BE(0), 0);
  head[2] = 0x80 | (query[2]! & 0x79); // QR, the opcode and RD; authoritative bit clear
  head[3] = 0x80 | rcode; // RA
  head.writeUInt16BE(questions, 4);
  head.writeUInt16BE(answers, 6);
  return head;
}

/** An answer record naming the question (a pointer to offset 12), TTL 60 s. */
function record(type: number, address: string): Buffer {
  const data = type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // class IN
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(data.length, 10);
  return Buffer.concat([head, data]);
}

function ipv6Bytes(address: string): Buffer {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((piece) => {
      if (!piece.includes('.')) return [parseInt(piece, 16)];
      const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
      return [a * 256 + b, c * 256 + d];
    });
  };
  const [head = '', tail] = address.split('::');
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
  return bytes;
}
