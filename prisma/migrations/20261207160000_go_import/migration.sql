-- AlterTable
ALTER TABLE "links" ADD COLUMN "card_pending" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "imported_links" (
    "user_id" BIGINT NOT NULL,
    "url" TEXT NOT NULL,
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "imported_links_pkey" PRIMARY KEY ("user_id","url")
);
