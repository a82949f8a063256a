import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '@dwld/testkit';

const MAIN_JS = path.resolve(__dirname, '..', 'dist', 'main.js');

/** `node dist/main.js` on a free port with an IPC channel to this process, as scripts/dwld.mjs starts it; resolves once it serves. */
async function startEmulator(): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN_JS], { env: { ...process.env, EMULATOR_PORT: '0', EMULATOR_STATE_FILE: '' }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor(() => out.includes('web chat on http://'), { what: 'the emulator to serve' });
  return { child, exited };
}

describe('`node dist/main.js` stops with whoever started it', () => {
  it('stops cleanly when the parent that started it over IPC is gone (its channel closes)', async () => {
    const { child, exited } = await startEmulator();
    // What a parent's death looks like from the child: the channel closes.
    child.disconnect();
    expect(await exited).toBe(0);
  });

  it('stops cleanly on SIGHUP', async () => {
    const { child, exited } = await startEmulator();
    child.kill('SIGHUP');
    expect(await exited).toBe(0);
  });
});
