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

-- Run in the writer's transaction: the new version is seen with the change, never before it.
-- Once per statement, after its rows are written: the one row is locked last, so statements
-- that each change several downloaders cannot deadlock over it.
CREATE FUNCTION "downloaders_version_bump"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO "downloaders_version" ("id", "version") VALUES (1, 1)
    ON CONFLICT ("id") DO UPDATE SET "version" = "downloaders_version"."version" + 1\073
  RETURN NULL\073
END
';

-- An update moves it only where a field routing reads changed.
CREATE FUNCTION "downloaders_version_bump_if_routed"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF EXISTS (SELECT 1 FROM "downloaders_old" o JOIN "downloaders_new" n ON n."id" = o."id"
              WHERE (o."name", o."host", o."port", o."allowed_patterns", o."healthy")
                    IS DISTINCT FROM (n."name", n."host", n."port", n."allowed_patterns", n."healthy")) THEN
    INSERT INTO "downloaders_version" ("id", "version") VALUES (1, 1)
      ON CONFLICT ("id") DO UPDATE SET "version" = "downloaders_version"."version" + 1\073
  END IF\073
  RETURN NULL\073
END
';

-- Rows added or removed (a bulk insert moves it once).
CREATE TRIGGER "downloaders_version_rows"
  AFTER INSERT OR DELETE OR TRUNCATE ON "downloaders"
  FOR EACH STATEMENT EXECUTE FUNCTION "downloaders_version_bump"();

CREATE TRIGGER "downloaders_version_routes"
  AFTER UPDATE ON "downloaders"
  REFERENCING OLD TABLE AS "downloaders_old" NEW TABLE AS "downloaders_new"
  FOR EACH STATEMENT EXECUTE FUNCTION "downloaders_version_bump_if_routed"();
