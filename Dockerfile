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
# A small young generation (2 MB semi-spaces instead of 16): more, shorter scavenges for a
# resident set well under 150 MB under load. The same flag everywhere a service runs
# (scripts/dwld.mjs, @dwld/testkit's spawnService, the benchmarks).
CMD ["sh", "-c", "exec node --enable-source-maps --max-semi-space-size=2 services/${SERVICE}/dist/main.js"]
