-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'user');

-- CreateEnum
CREATE TYPE "LinkStatus" AS ENUM ('queued', 'failed');

-- CreateTable
CREATE TABLE "links" (
    "id" SERIAL NOT NULL,
    "url" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "username" TEXT,
    "quality" TEXT NOT NULL,
    "folder" TEXT,
    "reply_message_id" INTEGER,
    "message_id" INTEGER,
    "send_at" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "status" "LinkStatus" NOT NULL DEFAULT 'queued',
    "claim_owner" TEXT,
    "claim_expires_at" TIMESTAMPTZ(3),
    "urgent_event_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "links_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dispatches" (
    "id" SERIAL NOT NULL,
    "link_id" INTEGER,
    "url" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "downloader" TEXT NOT NULL,
    "quality" TEXT NOT NULL,
    "folder" TEXT,
    "attempts" INTEGER NOT NULL,
    "send_at" TIMESTAMPTZ(3) NOT NULL,
    "dispatched_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dispatches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "downloaders" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "allowed_patterns" TEXT[],
    "registered_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "last_health_at" TIMESTAMPTZ(3),
    "last_health_ok" BOOLEAN,
    "last_health_message" TEXT,
    "healthy" BOOLEAN NOT NULL DEFAULT true,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "downloaders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "users" (
    "telegram_id" BIGINT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'user',
    "phone" TEXT,
    "notifications" BOOLEAN NOT NULL DEFAULT true,
    "authorised" BOOLEAN NOT NULL DEFAULT false,
    "language" TEXT,
    "queue_filter" TEXT[] DEFAULT ARRAY['queued', 'retrying', 'failed']::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("telegram_id")
);

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "links_urgent_event_id_key" ON "links"("urgent_event_id");

-- CreateIndex
CREATE INDEX "links_status_send_at_idx" ON "links"("status", "send_at");

-- CreateIndex
CREATE UNIQUE INDEX "links_user_id_url_key" ON "links"("user_id", "url");

-- CreateIndex
CREATE INDEX "dispatches_user_id_dispatched_at_idx" ON "dispatches"("user_id", "dispatched_at");

-- CreateIndex
CREATE INDEX "dispatches_dispatched_at_idx" ON "dispatches"("dispatched_at");

-- CreateIndex
CREATE UNIQUE INDEX "downloaders_name_key" ON "downloaders"("name");
