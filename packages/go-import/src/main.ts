// `pnpm import:go <links.db> [--dry-run]` (scripts/dwld.mjs import-go runs this after migrating):
// imports the Go bot's SQLite database into dwld. Exit codes as runImport says.
import { errorMessage } from '@dwld/errors';
import { runImport } from './run';

runImport(process.argv.slice(2), process.env, { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`Import failed: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
