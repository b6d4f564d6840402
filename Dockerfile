# One Dockerfile, one target per service: `docker build --target origin .` (likewise edge-node,
# load-balancer). The build context is the repository root because each service imports its
# shared workspace (service-kit; no service imports another, a lint rule enforces it) and npm installs
# from the root lockfile; .dockerignore admits only manifests and src/ folders.
#
# Images run TypeScript natively: Node 24 strips types (the code stays within erasableSyntaxOnly,
# imports carry .ts extensions), so there is no build step and no tsx at run time.
ARG NODE_IMAGE=node:24-slim
# Same tag as the Docker stack's Grafana (infra/src/docker/observability.ts, checked by a test).
ARG GRAFANA_IMAGE=grafana/grafana:12.2.0

# Every workspace manifest: `npm ci` checks the whole lockfile against them, then -w installs
# only the named workspace's production dependency tree.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY service-kit/package.json service-kit/
COPY origin/package.json origin/
COPY edge-node/package.json edge-node/
COPY load-balancer/package.json load-balancer/
COPY infra/package.json infra/
COPY grafana/package.json grafana/
COPY loadtest/package.json loadtest/

FROM manifests AS origin-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w origin

FROM manifests AS edge-node-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w edge-node

FROM manifests AS load-balancer-deps
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w load-balancer

# What every service image shares: non-root user, a fixed port on all interfaces, a health check
# that uses node itself (slim images have no curl), every 5 s: a stack whose services wait on each
# other's health comes up in ~5 s per tier.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Code stays owned by root (read-only to the service); the process runs as the image's `node` user.
# Each image takes the whole /app of its deps stage: npm nests a workspace's dependency under the
# workspace's own node_modules when the root holds another version (the edge's undici), and those
# folders must come along with the root one.
FROM runtime AS origin
COPY --from=origin-deps /app ./
COPY service-kit/package.json service-kit/
COPY service-kit/src service-kit/src
COPY origin/package.json origin/
COPY origin/src origin/src
USER node
CMD ["node", "origin/src/main.ts"]

FROM runtime AS load-balancer
COPY --from=load-balancer-deps /app ./
COPY service-kit/package.json service-kit/
COPY service-kit/src service-kit/src
COPY load-balancer/package.json load-balancer/
COPY load-balancer/src load-balancer/src
USER node
CMD ["node", "load-balancer/src/main.ts"]

FROM runtime AS edge-node
COPY --from=edge-node-deps /app ./
COPY service-kit/package.json service-kit/
COPY service-kit/src service-kit/src
COPY edge-node/package.json edge-node/
COPY edge-node/src edge-node/src
USER node
CMD ["node", "edge-node/src/main.ts"]

# Grafana with the lab's dashboards baked in, for the AWS stack (Fargate has no host folder to
# mount; the Docker stack mounts grafana/dashboards instead). Provisioning files are written at
# start by the task's entry point, since the datasource URLs depend on the stack. Not under
# /var/lib/grafana: that is a VOLUME in Grafana's image.
FROM ${GRAFANA_IMAGE} AS grafana
COPY grafana/dashboards /etc/grafana/dashboards
