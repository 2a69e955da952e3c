# One build for every image of the system; compose picks the target:
#   services       config-service, cert-service, log-service, tunnel-gateway, console
#   demo-upstream  Debian's vsftpd plus the HTTP file browser (demo profile)
# Build context: the repository root. Works with the classic builder
# (DOCKER_BUILDKIT=0) as well as BuildKit: no heredocs, no cache mounts.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# The pnpm that wrote pnpm-lock.yaml, from npm (corepack's signing keys lag behind).
ARG PNPM_VERSION=10.34.9
# Native modules (better-sqlite3) are compiled from source against Node's own
# headers, so the build never downloads a prebuilt binary from outside the
# package registry (CI=true: pnpm never waits for a TTY).
ENV CI=true npm_config_build_from_source=true npm_config_nodedir=/usr/local
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g pnpm@${PNPM_VERSION} && npm cache clean --force
WORKDIR /repo
# Dependencies first (only the lockfile), so a code change reuses this layer.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile && pnpm build
# Each service becomes a self-contained directory: its compiled code, its
# production dependencies and the workspace libraries it uses, nothing else.
RUN for service in config-service cert-service log-service tunnel-gateway console demo-upstream; do \
      pnpm --filter "@st/$service" deploy --prod --legacy "/out/$service" >/dev/null \
      && rm -rf "/out/$service/src" "/out/$service/tsconfig.json" || exit 1; \
    done

FROM ${NODE_IMAGE} AS services
ENV NODE_ENV=production
# Services run as the unprivileged `node` user (uid 1000). Only the gateway may
# bind ports below 1024, through a copy of node that carries just that file
# capability (node-net-bind); every other service runs the plain binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && cp "$(command -v node)" /usr/local/bin/node-net-bind \
 && setcap 'cap_net_bind_service=+ep' /usr/local/bin/node-net-bind \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data/config-service /data/cert-service /data/log-service /data/tunnel-gateway \
 && chown -R node:node /data && chmod 700 /data/*
COPY --from=build /out/config-service /app/config-service
COPY --from=build /out/cert-service /app/cert-service
COPY --from=build /out/log-service /app/log-service
COPY --from=build /out/tunnel-gateway /app/tunnel-gateway
COPY --from=build /out/console /app/console
COPY deploy/healthcheck.mjs /app/healthcheck.mjs
WORKDIR /app
USER node

FROM ${NODE_IMAGE} AS demo-upstream
# tini reaps the session processes vsftpd leaves behind when it is stopped;
# node as PID 1 would not.
RUN apt-get update \
 && apt-get install -y --no-install-recommends vsftpd libpam-pwdfile openssl tini \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/demo-upstream /app/demo-upstream
COPY deploy/healthcheck.mjs /app/healthcheck.mjs
WORKDIR /app
# Runs as root: it writes the demo's PAM service (a virtual FTP user with no
# system login, checked by pam_pwdfile against an openssl-hashed password) and
# starts vsftpd, which drops to a shell-less account for each session.
ENV NODE_ENV=production \
    DEMO_HOST=0.0.0.0 \
    DEMO_ROOT=/srv/demo-files \
    DEMO_WORK_DIR=/var/lib/demo-upstream \
    DEMO_FTP_PORT=2121 \
    DEMO_HTTP_PORT=8080 \
    DEMO_PASSIVE_FROM=3000 \
    DEMO_PASSIVE_TO=3008
EXPOSE 2121 8080 3000-3008
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "demo-upstream/dist/main.js"]
