# Stand-in for node:20-bookworm-slim: Debian bookworm with this host's Node.js,
# npm and Node's headers (native modules build against them), a `node` user
# with uid 1000 as in the official image, and the host's CA bundle.
ARG BASE
FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include/node /usr/local/include/node
COPY host-ca.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_nodedir=/usr/local
RUN groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
CMD ["node"]
