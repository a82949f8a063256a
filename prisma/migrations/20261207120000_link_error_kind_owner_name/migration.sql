-- AlterTable
ALTER TABLE "links" ADD COLUMN "owner_name" TEXT,
ADD COLUMN "last_error_kind" TEXT,
ADD COLUMN "last_error_reason" TEXT;
