import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InvalidStateError, type SavedState, STATE_FORMAT, validateState } from './saved-state';
import { errorMessage } from '@dwld/errors';

/** A state file that exists but cannot be used: the message names the file and says why. */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`Cannot use the emulator state file ${file}: ${reason}. Fix it, or move it away to start afresh.`);
    this.name = 'StateFileError';
  }
}

/** The saved state, or undefined when there is no file yet (a fresh start). */
export function readStateFile(file: string): SavedState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(file, errorMessage(err));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(file, `not valid JSON (${errorMessage(err)})`);
  }
  try {
    return validateState(parsed);
  } catch (err) {
    if (err instanceof InvalidStateError) throw new StateFileError(file, `not an emulator state: ${err.message}`);
    throw err;
  }
}

/**
 * Replaces `file` with `data` so that a reader (or a process killed at any moment) sees either
 * the old content or the new, never a mix: a temporary file is written and flushed to disk,
 * then renamed over the old one, and the rename itself is flushed (the directory).
 */
export function writeFileAtomicSync(file: string, data: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    const bytes = Buffer.from(data, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  let dirFd: number | undefined;
  try {
    dirFd = openSync(dir, 'r');
    fsyncSync(dirFd);
  } catch {
    // Some platforms cannot flush a directory; the rename is still atomic.
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}

/**
 * Takes the state file for this process: one emulator per file, or two would overwrite each
 * other's state and hand out the same ids. The lock is `<file>.lock` holding the owner's pid,
 * created exclusively; one left by a process that is gone (killed) is taken over. Returns the
 * release; throws StateFileError when a live process holds the file.
 */
export function lockStateFile(file: string): () => void {
  const lock = `${file}.lock`;
  if (lockedHere.has(lock)) throw new StateFileError(file, 'it is in use by another emulator in this process');
  mkdirSync(path.dirname(file), { recursive: true });
  const mine = String(process.pid);
  try {
    writeFileSync(lock, mine, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StateFileError(file, `cannot create its lock ${lock}: ${errorMessage(err)}`);
    const holder = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new StateFileError(file, `it is in use by another emulator (pid ${holder}; lock ${lock})`);
    }
    writeFileSync(lock, mine, { mode: 0o600 });
  }
  lockedHere.add(lock);
  return () => {
    lockedHere.delete(lock);
    try {
      if (readFileSync(lock, 'utf8').trim() === mine) unlinkSync(lock);
    } catch {
      // Already gone.
    }
  };
}

/** Locks this process holds (a second emulator in the same process is refused too). */
const lockedHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What the state file is made of: the id reservations, and everything else. */
export interface StateParts {
  /** `release`: ids reserved but not handed out are given back (a clean stop). */
  ids(release: boolean): SavedState['ids'];
  /** Where sequences not yet in the file start (SavedState.idOrigin). */
  idOrigin: number;
  world(): Omit<SavedState, 'format' | 'version' | 'ids'>;
}

/**
 * Writes the emulator's state to its file, always whole and atomically: right away
 * (synchronously) when ids are reserved, otherwise at most `delayMs` after a change, and on
 * stop. A write that would not change the file is skipped.
 */
export class StateWriter {
  private timer: NodeJS.Timeout | undefined;
  private written: string | undefined;
  /** The conversations as last serialized (the JSON object's members, without braces). */
  private worldJson: string | undefined;

  constructor(
    readonly file: string,
    private readonly parts: StateParts,
    private readonly delayMs: number,
    /** A delayed write failed (the next change tries again). */
    private readonly onError: (error: Error) => void,
  ) {}

  /** Something changed: the file is brought up to date within delayMs. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.write(false, false);
      } catch (err) {
        this.onError(err as Error);
      }
    }, this.delayMs);
    this.timer.unref();
  }

  /**
   * Makes the current id reservations durable before returning; throws if it could not. The
   * conversations are those of the last write (serializing them again is what the delayed write
   * is for), so reserving costs one file write however large the history.
   */
  reserve(): void {
    this.write(false, this.worldJson !== undefined);
  }

  /** Writes everything now and cancels the delayed write; `release` as in StateParts.ids. */
  flush(release = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.write(release, false);
  }

  private write(release: boolean, reuseWorld: boolean): void {
    const worldJson = reuseWorld && this.worldJson !== undefined ? this.worldJson : JSON.stringify(this.parts.world()).slice(1, -1);
    const head: Pick<SavedState, 'format' | 'version' | 'ids' | 'idOrigin'> = { format: STATE_FORMAT, version: 1, idOrigin: this.parts.idOrigin, ids: this.parts.ids(release) };
    const data = `${JSON.stringify(head).slice(0, -1)}${worldJson ? `,${worldJson}` : ''}}\n`;
    this.worldJson = worldJson;
    if (data === this.written) return;
    writeFileAtomicSync(this.file, data);
    this.written = data;
  }
}
