import type { DownloaderPort } from '@dwld/contract';
import { errorMessage } from '@dwld/errors';
import type { DownloaderStore } from '../store/downloaders';

/** How cleaning one downloader went: how many finished downloads it forgot, or why not. */
export type CleanOutcome = { name: string; ok: true; forgotten: number } | { name: string; ok: false; error: string };

/**
 * /clean, once an admin said yes: every registered downloader forgets its finished downloads,
 * all at once (the answer waits for the slowest, up to the call deadline). The port's clean
 * says nothing back, so what it forgets is counted from the queue read just before: the
 * finished links. A downloader whose queue cannot be read is left alone (it would most likely
 * not answer the clean either), and says why.
 */
export async function cleanDownloaders(deps: { fleet: DownloaderStore; downloaders: DownloaderPort }): Promise<CleanOutcome[]> {
  const names = await deps.fleet.names();
  return Promise.all(
    names.map(async (name): Promise<CleanOutcome> => {
      try {
        const finished = (await deps.downloaders.queue(name)).filter((link) => link.stage === 'finished').length;
        await deps.downloaders.clean(name);
        return { name, ok: true, forgotten: finished };
      } catch (err) {
        return { name, ok: false, error: errorMessage(err) };
      }
    }),
  );
}
