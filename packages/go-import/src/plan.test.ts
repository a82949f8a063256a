import type { Database } from 'sql.js';
import { formatDestination } from '@dwld/domain';
import { NotAGoDatabaseError, parseDestination, planImport, type ImportPlan, type PlanOptions } from './plan';
import { openSqlite } from './sqlite';
import { goDatabase, sqliteFile, unixText, type GoContent, type GoSchema } from './testing/go-database';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const OPTIONS: PlanOptions = { now: NOW, defaultQuality: '1080', linkPolicy: { maxLength: 2048, allowPrivateHosts: false } };
const HOUR = 3600_000;

async function plan(schema: GoSchema, content: GoContent, options: PlanOptions = OPTIONS): Promise<ImportPlan> {
  return planBytes(await goDatabase(schema, content), options);
}

async function planBytes(bytes: Uint8Array, options: PlanOptions = OPTIONS): Promise<ImportPlan> {
  const db: Database = await openSqlite(bytes);
  try {
    return planImport(db, options);
  } finally {
    db.close();
  }
}

describe('planImport: the latest Go schema', () => {
  it('maps every column of a link, a downloader and a deletion', async () => {
    const result = await plan('latest', {
      links: [
        {
          link: 'https://YouTube.com/watch?v=abc',
          quality: 4320,
          sendingAt: unixText(new Date(NOW.getTime() - HOUR)),
          userID: '884900075',
          userName: '[alice] Музыка',
          messageID: '180',
          errorMsg: 'SetToQueue: rpc error: code = Unknown desc = UNIQUE constraint failed: links.link',
        },
      ],
      downloaders: [{ name: 'Unona', allowedRootLinks: 'youtube.com, rutube.ru,', host: '10.0.0.5', port: 8888 }],
      toDelete: [{ chatID: '884900075', messageID: '181', deleteAt: unixText(new Date(NOW.getTime() + HOUR)) }],
    });
    expect(result.variant).toBe('the latest Go bot schema (links with userName, downloaders, to_delete; goose version 20250720105324)');
    expect(result.links).toEqual([
      {
        source: 'links row 1',
        given: 'https://YouTube.com/watch?v=abc',
        url: 'https://youtube.com/watch?v=abc',
        host: 'youtube.com',
        userId: '884900075',
        chatId: '884900075',
        username: 'alice',
        ownerName: 'alice',
        folder: 'Музыка',
        quality: '4320',
        replyMessageId: 180,
        sendAt: new Date(NOW.getTime() - HOUR),
        lastError: 'SetToQueue: rpc error: code = Unknown desc = UNIQUE constraint failed: links.link',
      },
    ]);
    expect(result.downloaders).toEqual([{ source: 'downloaders row 1', name: 'Unona', host: '10.0.0.5', port: 8888, patterns: ['youtube.com', 'rutube.ru'] }]);
    expect(result.deletions).toEqual([
      { source: 'to_delete row 1', chatId: '884900075', messageId: 181, deleteAt: new Date(NOW.getTime() + HOUR), jobId: 'delete-884900075-181' },
    ]);
    expect(result.skipped).toEqual([]);
    // The pattern the Go bot kept as sent ("" after the last comma) is reported; sqlite_sequence and goose are not "unknown".
    expect(result.notes).toEqual([{ about: 'downloader Unona', text: 'patterns: "" dropped (empty)' }]);
  });

  it('skips what dwld would refuse, each with its reason', async () => {
    const user = { userID: '42', quality: 720, sendingAt: unixText(NOW) };
    const result = await plan('latest', {
      links: [
        { ...user, link: 'ftp://example.com/file' },
        { ...user, link: 'hello' },
        { ...user, link: '' },
        { ...user, link: 'http://192.168.1.10/video' },
        { ...user, link: 'https://user:secret@example.com/v' },
        { ...user, link: `https://example.com/${'x'.repeat(2100)}` },
        { link: 'https://example.com/no-user', quality: 720 },
        { link: 'https://example.com/group', userID: '-100123' },
        { link: 'https://example.com/word', userID: 'alice' },
        { ...user, link: 'https://example.com/ok' },
        // The Go bot's unique link was the raw text: two spellings of one link for one person.
        { ...user, link: 'https://EXAMPLE.com/ok' },
      ],
    });
    expect(result.links.map((l) => l.url)).toEqual(['https://example.com/ok']);
    expect(result.skipped.map((s) => [s.source, s.reason])).toEqual([
      ['links row 1', 'not a link'],
      ['links row 2', 'not a link'],
      ['links row 3', 'not a link'],
      ['links row 4', 'a private or local address (dwld refuses those unless ALLOW_PRIVATE_HOSTS is on)'],
      ['links row 5', 'a link with a user name or password in it'],
      ['links row 6', 'longer than 2048 characters (MAX_LINK_LENGTH)'],
      ['links row 7', 'no user id'],
      ['links row 8', 'userID "-100123" is not a Telegram user id'],
      ['links row 9', 'userID "alice" is not a Telegram user id'],
      ['links row 11', 'the same link for the same person as links row 10'],
    ]);
    expect(result.skipped[5]!.what.length).toBeLessThanOrEqual(100);
  });

  it('lets private addresses through when ALLOW_PRIVATE_HOSTS is on', async () => {
    const result = await plan('latest', { links: [{ link: 'http://192.168.1.10/video', userID: '42' }] }, { ...OPTIONS, linkPolicy: { maxLength: 2048, allowPrivateHosts: true } });
    expect(result.links.map((l) => [l.url, l.host])).toEqual([['http://192.168.1.10/video', '192.168.1.10']]);
  });

  it('falls back for a quality, a send time or a message id that is not one, and says so', async () => {
    const result = await plan('latest', {
      links: [
        { link: 'https://a.example/1', userID: '7', quality: 0, sendingAt: 'soon', messageID: 'x1' },
        { link: 'https://a.example/2', userID: '7', quality: 100000, sendingAt: null, messageID: null },
        { link: 'https://a.example/3', userID: '7', quality: 'best', sendingAt: unixText(NOW), messageID: '0' },
        { link: 'https://a.example/4', userID: '7', quality: null, sendingAt: unixText(NOW), messageID: '5', errorMsg: '   ' },
      ],
    });
    expect(result.links.map((l) => [l.quality, l.sendAt.toISOString(), l.replyMessageId, l.lastError])).toEqual([
      ['1080', NOW.toISOString(), null, null],
      ['1080', NOW.toISOString(), null, null],
      ['1080', NOW.toISOString(), null, null],
      ['1080', NOW.toISOString(), 5, null],
    ]);
    expect(result.notes).toEqual(
      expect.arrayContaining([
        { about: 'links row 1', text: 'quality "0" is not a quality: 1080 used' },
        { about: 'links row 1', text: 'sendingAt "soon" is not a time: sent from now' },
        { about: 'links row 1', text: 'messageID "x1" is not a message id: the Go bot\'s reply stays as it is' },
        { about: 'links row 2', text: 'quality "100000" is not a quality: 1080 used' },
        { about: 'links row 2', text: 'no sendingAt: sent from now' },
        { about: 'links row 3', text: 'quality "best" is not a quality: 1080 used' },
        { about: 'links row 4', text: 'no quality: 1080 used' },
      ]),
    );
  });

  it('holds a quality to the one rule: a single digit (which no downloader could be sent) falls back too', async () => {
    const result = await plan('latest', { links: [{ link: 'https://a.example/5', userID: '7', quality: 5, sendingAt: unixText(NOW) }, { link: 'https://a.example/6', userID: '7', quality: 10, sendingAt: unixText(NOW) }] });
    expect(result.links.map((l) => l.quality)).toEqual(['1080', '10']);
    expect(result.notes).toEqual(expect.arrayContaining([{ about: 'links row 1', text: 'quality "5" is not a quality: 1080 used' }]));
  });

  it('takes the gateway’s DEFAULT_QUALITY as the fallback', async () => {
    const result = await plan('latest', { links: [{ link: 'https://a.example/1', userID: '7' }] }, { ...OPTIONS, defaultQuality: 'max' });
    expect(result.links[0]!.quality).toBe('max');
  });

  it('normalises downloaders as the registry does, dials 127.0.0.1 for "any address", refuses bad ones', async () => {
    const result = await plan('latest', {
      downloaders: [
        { name: 'all-interfaces', allowedRootLinks: 'all', host: '0.0.0.0', port: 8080 },
        { name: 'empty-host', allowedRootLinks: 'https://www.YouTube.com/watch,*.vk.com', host: '', port: '9000' },
        { name: 'v6-any', allowedRootLinks: '*', host: '::', port: 1 },
        { name: 'no-patterns', allowedRootLinks: ' , ,', host: 'nas.lan', port: 8080 },
        { name: 'bad-port', allowedRootLinks: 'all', host: 'nas.lan', port: 70000 },
        { name: 'no-port', allowedRootLinks: 'all', host: 'nas.lan', port: null },
        { name: 'bad-host', allowedRootLinks: 'all', host: 'nas lan', port: 8080 },
        { name: ' spaced ', allowedRootLinks: 'all', host: 'nas.lan', port: 8080 },
        { name: '', allowedRootLinks: 'all', host: 'nas.lan', port: 8080 },
      ],
    });
    expect(result.downloaders.map((d) => [d.name, d.host, d.port, d.patterns])).toEqual([
      ['all-interfaces', '127.0.0.1', 8080, ['all']],
      ['empty-host', '127.0.0.1', 9000, ['www.youtube.com', 'vk.com']],
      ['v6-any', '127.0.0.1', 1, ['*']],
      // Trimmed, as the registry trims the name of a registration.
      ['spaced', 'nas.lan', 8080, ['all']],
    ]);
    expect(result.skipped.map((s) => [s.what, s.reason])).toEqual([
      ['no-patterns', 'no usable pattern in allowedRootLinks " , ,"'],
      ['bad-port', 'port "70000" is not a port (1-65535)'],
      ['no-port', 'port "" is not a port (1-65535)'],
      ['bad-host', 'host "nas lan" is not a host name or an address'],
      ['(no name)', 'no name'],
    ]);
    expect(result.notes).toEqual(
      expect.arrayContaining([
        { about: 'downloader all-interfaces', text: 'host "0.0.0.0" → 127.0.0.1 (the Go bot dialled this machine for it)' },
        { about: 'downloader empty-host', text: 'host "" → 127.0.0.1 (the Go bot dialled this machine for it)' },
        { about: 'downloader empty-host', text: expect.stringContaining('"https://www.YouTube.com/watch" → www.youtube.com (the host of a URL)') },
      ]),
    );
  });

  it('schedules a deletion already due for now, and skips rows that name no message', async () => {
    const result = await plan('latest', {
      toDelete: [
        { chatID: '42', messageID: '7', deleteAt: unixText(new Date(NOW.getTime() - 5 * HOUR)) },
        { chatID: '-100200300', messageID: '8', deleteAt: 'later' },
        { chatID: 'x', messageID: '9', deleteAt: unixText(NOW) },
        { chatID: '42', messageID: '0', deleteAt: unixText(NOW) },
        { chatID: '42', messageID: '7', deleteAt: unixText(NOW) },
        { chatID: '42', messageID: '10', deleteAt: unixText(new Date(NOW.getTime() - 49 * HOUR)) },
      ],
    });
    expect(result.deletions.map((d) => [d.chatId, d.messageId, d.deleteAt.toISOString(), d.jobId])).toEqual([
      ['42', 7, NOW.toISOString(), 'delete-42-7'],
      ['-100200300', 8, NOW.toISOString(), 'delete--100200300-8'],
    ]);
    expect(result.skipped.map((s) => [s.source, s.reason])).toEqual([
      ['to_delete row 3', 'chatID is not a chat id'],
      ['to_delete row 4', 'messageID is not a message id'],
      ['to_delete row 5', 'the same message as to_delete row 1'],
      ['to_delete row 6', 'due more than 48 hours ago: Telegram no longer lets a bot delete it'],
    ]);
    expect(result.notes).toEqual([{ about: 'to_delete row 2', text: 'deleteAt is not a time: deleted now' }]);
  });
});

describe('planImport: other versions and other files', () => {
  it('reads the mid-2025 schema: no userName, no to_delete, no goose table', async () => {
    const result = await plan('mid-2025', {
      links: [{ link: 'https://youtu.be/LHCXmWMJb-M', quality: 4320, sendingAt: '1752424028', userID: '884900075', messageID: '254', errorMsg: '' }],
      downloaders: [{ name: 'Unona', allowedRootLinks: 'vk.com', host: '127.0.0.1', port: 8888 }],
    });
    expect(result.variant).toBe('the mid-2025 Go bot schema (links without userName, downloaders, no to_delete table; no goose version table)');
    expect(result.tables.to_delete).toBeUndefined();
    expect(result.links).toEqual([
      expect.objectContaining({ url: 'https://youtu.be/LHCXmWMJb-M', host: 'youtu.be', quality: '4320', sendAt: new Date(1752424028_000), username: null, folder: null, ownerName: null, replyMessageId: 254, lastError: null }),
    ]);
    expect(result.deletions).toEqual([]);
    expect(result.notes).toEqual([{ about: 'table links', text: expect.stringContaining('no userName column') }]);
  });

  it('reports tables and columns it does not know, and imports the rest', async () => {
    const result = await plan('latest', {
      links: [{ link: 'https://example.com/a', userID: '1' }],
      extra: "CREATE TABLE proxies (url text); ALTER TABLE links ADD COLUMN priority integer; INSERT INTO proxies VALUES ('socks5://x');",
    });
    expect(result.links).toHaveLength(1);
    expect(result.notes).toEqual(
      expect.arrayContaining([
        { about: 'table proxies', text: 'not known, not imported' },
        { about: 'links.priority', text: 'column not known, not imported' },
      ]),
    );
  });

  it('imports a table that lacks some columns, saying which', async () => {
    const result = await planBytes(await sqliteFile("CREATE TABLE links (link text, userID text); INSERT INTO links VALUES ('https://example.com/a', '5');"));
    expect(result.variant).toBe('a Go bot schema of its own (links without userName, no downloaders table, no to_delete table; no goose version table)');
    expect(result.links.map((l) => [l.url, l.userId, l.quality, l.sendAt.toISOString()])).toEqual([['https://example.com/a', '5', '1080', NOW.toISOString()]]);
    expect(result.notes).toEqual(expect.arrayContaining([{ about: 'table links', text: 'has no column quality, sendingAt, messageID, errorMsg' }]));
  });

  it.each([
    ['an empty SQLite file', ''],
    ['another program’s database', 'CREATE TABLE users (id integer, name text); CREATE TABLE downloads (link text);'],
    ['Go tables without their key columns', 'CREATE TABLE links (url text); CREATE TABLE downloaders (host text);'],
  ])('refuses %s: not a Go dwld database', async (_what, sql) => {
    const bytes = await sqliteFile(sql);
    await expect(planBytes(bytes)).rejects.toThrow(NotAGoDatabaseError);
    await expect(planBytes(bytes)).rejects.toThrow(/^not a Go dwld database/);
  });

  it('refuses a file that is not SQLite at all', async () => {
    const bytes = new TextEncoder().encode('links.db? no: a text file that is long enough to look like a header and then some more text\n'.repeat(50));
    await expect(planBytes(bytes)).rejects.toThrow(/^not an SQLite database \(file is not a database\)/);
  });
});

describe('parseDestination', () => {
  it.each([
    ['[alice] Музыка', { username: 'alice', folder: 'Музыка', ownerName: 'alice' }],
    ['[alice] Видео [2025]', { username: 'alice', folder: 'Видео [2025]', ownerName: 'alice' }],
    // No Telegram username: kept whole, so the downloader gets "[] Музыка" as from the Go bot.
    ['[] Музыка', { username: '[] Музыка', folder: null, ownerName: null }],
    ['just a name', { username: 'just a name', folder: null, ownerName: null }],
    ['[alice]', { username: '[alice]', folder: null, ownerName: null }],
  ])('reads %j so that dwld sends the downloader the same string', (userName, expected) => {
    const parsed = parseDestination(userName, '884900075');
    expect(parsed).toEqual(expected);
    expect(formatDestination({ username: parsed.username, folder: parsed.folder, userId: '884900075' })).toBe(userName);
  });

  it('says when it cannot send the same string', () => {
    expect(parseDestination(' padded ', '1')).toEqual({ username: ' padded ', folder: null, ownerName: null, note: 'userName " padded " is sent trimmed: "padded"' });
    expect(parseDestination('', '1')).toEqual({ username: null, folder: null, ownerName: null, note: expect.stringContaining('no userName') });
  });
});
