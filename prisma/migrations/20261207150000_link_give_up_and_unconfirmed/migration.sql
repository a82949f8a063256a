-- AlterTable
ALTER TABLE "links" ADD COLUMN "first_failed_at" TIMESTAMPTZ(3),
ADD COLUMN "unconfirmed_downloader" TEXT;
