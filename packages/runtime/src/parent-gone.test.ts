import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '@dwld/testkit';

// Real processes started with an IPC channel, as scripts/dwld.mjs starts the sandbox's: the
// parent closing the channel is what its death (even by SIGKILL) looks like to them. The built
// dist/ is used (turbo builds before testing), since the processes run plain node.
const DIST = path.resolve(__dirname, '../dist');

interface Child {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  // A test that failed must not leave its process behind (jest would wait for it).
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function start(args: string[]): Child {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  started.push(child);
  return { child, output: () => output, exited };
}

// A service: handleShutdown with a stop that takes a moment, and a server keeping it alive.
const SERVICE = `
const { handleShutdown } = require(${JSON.stringify(path.join(DIST, 'index.js'))});
const log = (level) => (message, fields) => process.stdout.write(level + ' ' + message + ' ' + JSON.stringify(fields ?? {}) + '\\n');
const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
const server = require('node:net').createServer().listen(0, '127.0.0.1', () => process.stdout.write('ready\\n'));
handleShutdown({ logger, timeoutMs: 5000, stop: () => new Promise((resolve) => setTimeout(() => server.close(() => resolve()), 200)) });
`;

describe('a process started over IPC stops when its parent is gone', () => {
  jest.setTimeout(10_000);

  it('handleShutdown: the channel closing stops the service cleanly (exit 0)', async () => {
    const service = start(['-e', SERVICE]);
    await waitFor(() => service.output().includes('ready'), { what: 'the service to start' });
    service.child.disconnect();
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.output()).toContain('info stopping {"reason":"parent process gone"}');
    expect(service.output()).toContain('info stopped');
  });

  it('handleShutdown: SIGHUP stops the service cleanly, and the channel closing meanwhile does not cut the stop short', async () => {
    const service = start(['-e', SERVICE]);
    await waitFor(() => service.output().includes('ready'), { what: 'the service to start' });
    service.child.kill('SIGHUP');
    await waitFor(() => service.output().includes('stopping'), { what: 'the stop to begin' });
    service.child.disconnect();
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.output()).toContain('info stopping {"reason":"SIGHUP"}');
    expect(service.output()).not.toContain('second stop request');
  });
});
