// Runs the emulator on its own (the sandbox): EMULATOR_HOST (default 127.0.0.1), EMULATOR_PORT
// (default 8088) and EMULATOR_STATE_FILE (unset: nothing is kept across restarts; set: ids never
// repeat and conversations come back). The web chat page is at the root.
import path from 'node:path';
import { TelegramEmulator } from './emulator';
import { errorMessage } from '@dwld/errors';

async function main(): Promise<void> {
  const host = process.env.EMULATOR_HOST || '127.0.0.1';
  const port = Number(process.env.EMULATOR_PORT || 8088);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('Invalid configuration: EMULATOR_PORT is invalid: must be a port number\n');
    process.exit(1);
  }
  const stateFile = process.env.EMULATOR_STATE_FILE ? path.resolve(process.env.EMULATOR_STATE_FILE) : undefined;
  const emulator = new TelegramEmulator({ host, port, ...(stateFile ? { stateFile } : {}) });
  emulator.on('stateError', (error) => process.stderr.write(`emulator: could not write the state file: ${error.message}\n`));
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    emulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`emulator: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  // SIGHUP too (a closed terminal, a process manager), and a parent that started this process
  // with an IPC channel and is gone, however it died (scripts/dwld.mjs runs the sandbox so): the
  // emulator never outlives the runner that started it.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, stop);
  if (process.channel) {
    process.on('disconnect', () => {
      if (!stopping) stop();
    });
    // The channel only tells when the parent is gone: it must not keep the process alive.
    process.channel.unref();
  }
  // Listening (and saying so) only once the signals are handled: a stop asked for right after the
  // line below must find the handlers in place.
  const { url } = await emulator.start();
  process.stdout.write(`Telegram Bot API emulator and web chat on ${url}\n`);
  if (stateFile) process.stdout.write(`State kept in ${stateFile}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator could not start: ${errorMessage(err)}\n`);
  process.exit(1);
});
