import type { DownloaderPort } from '@dwld/contract';
import { errorMessage } from '@dwld/errors';
import type { DownloaderList } from '../store/downloaders';

/** How cleaning one downloader went: how many finished downloads it forgot, or why not. */
export type CleanOutcome = { name: string; ok: true; forgotten: number } | { name: string; ok: false; error: string };

/**
 * /clean, once an admin said yes: every registered downloader forgets its finished downloads,
 * all at once (the answer waits for the slowest, up to the call deadline), and says how many.
 */
export async function cleanDownloaders(deps: { fleet: DownloaderList; downloaders: DownloaderPort }): Promise<CleanOutcome[]> {
  const names = await deps.fleet.names();
  return Promise.all(
    names.map(async (name): Promise<CleanOutcome> => {
      try {
        return { name, ok: true, forgotten: await deps.downloaders.clean(name) };
      } catch (err) {
        return { name, ok: false, error: errorMessage(err) };
      }
    }),
  );
}
