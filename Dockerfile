# One image per service: docker build --build-arg SERVICE=registry .
# (docker-compose.yml builds each service from this file.)
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN npm install --global --no-audit --no-fund pnpm@10.34.8
ENV CI=true TURBO_TELEMETRY_DISABLED=1
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build

# Applies the migrations (has the prisma CLI, a dev dependency).
FROM build AS migrate
USER node
CMD ["pnpm", "--filter", "@dwld/db", "run", "migrate:deploy"]

FROM build AS prune
RUN pnpm install --frozen-lockfile --prod --offline

FROM node:20-bookworm-slim AS service
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prune --chown=node:node /app /app
ARG SERVICE=registry
ENV SERVICE=${SERVICE}
# The image's own unprivileged user: a service never needs root.
USER node
# The memory settings every service runs with (scripts/dwld.mjs and SERVICE_MEMORY_ENV in
# @dwld/testkit use the same): a modest young generation and an old generation capped well
# above the live set, so V8 collects instead of letting the resident set grow under load, and
# two malloc arenas instead of one per thread (bench/RESULTS.md). The scheduler's image is
# built with OLD_SPACE_MB=1024: a higher cap lets V8 grow its old generation by a larger
# factor between compactions, which its dispatch loop needs (SCHEDULER_MEMORY_ENV says why).
# Override NODE_OPTIONS to change them.
ARG OLD_SPACE_MB=64
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=${OLD_SPACE_MB}" MALLOC_ARENA_MAX=2
CMD ["sh", "-c", "exec node --enable-source-maps services/${SERVICE}/dist/main.js"]
