-- The claim reads due links ORDER BY send_at, id LIMIT n: with id in the index it walks the
-- index and stops after n rows instead of sorting every due link on each poll.

-- DropIndex
DROP INDEX "links_status_send_at_idx";

-- CreateIndex
CREATE INDEX "links_status_send_at_id_idx" ON "links"("status", "send_at", "id");

-- A claim changes only claim_owner and claim_expires_at, which no index covers: with room left
-- on the row's page the new version stays there (a HOT update) and no index gets an entry.
-- Rows are short-lived (claimed, then deleted), so the spare room is reused. Applies to pages
-- written from now on.
ALTER TABLE "links" SET (fillfactor = 75);
