-- AlterTable
ALTER TABLE "dispatches" ADD COLUMN "message_id" INTEGER;

-- CreateIndex
CREATE INDEX "dispatches_chat_id_message_id_idx" ON "dispatches"("chat_id", "message_id");
