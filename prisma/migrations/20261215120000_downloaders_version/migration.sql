-- The routing list's version: counts every change of what routing reads from `downloaders`
-- (a row added or removed, or a name, address, patterns or health changed). The schedulers
-- read it with each claim (one row) and reload their routes only when it moved, instead of
-- shipping the whole table with every claim. Re-registrations and health checks that change
-- none of that (the every-few-seconds sign of life) leave it alone.
-- No semicolon may appear in this file but between statements: the driver adapter splits
-- the script on every one, so the trigger function's body spells its own as \073.

-- CreateTable
CREATE TABLE "downloaders_version" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "downloaders_version_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "downloaders_version_one_row" CHECK ("id" = 1)
);

INSERT INTO "downloaders_version" ("id", "version") VALUES (1, 0);

-- Runs in the writer's transaction: the new version is seen with the change, never before it.
CREATE FUNCTION "downloaders_version_bump"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO "downloaders_version" ("id", "version") VALUES (1, 1)
    ON CONFLICT ("id") DO UPDATE SET "version" = "downloaders_version"."version" + 1\073
  RETURN NULL\073
END
';

-- Once per statement for rows added or removed (a bulk insert moves it once).
CREATE TRIGGER "downloaders_version_rows"
  AFTER INSERT OR DELETE OR TRUNCATE ON "downloaders"
  FOR EACH STATEMENT EXECUTE FUNCTION "downloaders_version_bump"();

-- Per row for updates, only where a field routing reads changed.
CREATE TRIGGER "downloaders_version_routes"
  AFTER UPDATE ON "downloaders"
  FOR EACH ROW
  WHEN (OLD."name" IS DISTINCT FROM NEW."name"
     OR OLD."host" IS DISTINCT FROM NEW."host"
     OR OLD."port" IS DISTINCT FROM NEW."port"
     OR OLD."allowed_patterns" IS DISTINCT FROM NEW."allowed_patterns"
     OR OLD."healthy" IS DISTINCT FROM NEW."healthy")
  EXECUTE FUNCTION "downloaders_version_bump"();
