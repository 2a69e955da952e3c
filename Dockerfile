# One image builds every service; compose picks the entry point per service.
# Build context: the repository root.
FROM node:20-bookworm-slim AS build
# better-sqlite3 (log-service) compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/* \
 && npm install -g pnpm@10
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json tsconfig.base.json tsconfig.json ./
COPY libs ./libs
COPY services ./services
COPY test/package.json test/tsconfig.json ./test/
RUN pnpm install --frozen-lockfile
RUN pnpm build && pnpm prune --prod

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# Services run unprivileged; the gateway binds 443/990 through this capability only.
RUN apt-get update && apt-get install -y --no-install-recommends libcap2-bin curl \
 && setcap 'cap_net_bind_service=+ep' "$(command -v node)" \
 && apt-get purge -y libcap2-bin && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
USER node
