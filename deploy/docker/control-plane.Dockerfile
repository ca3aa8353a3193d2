# The control-plane image. Build from the repository root:
#   docker build -f deploy/docker/control-plane.Dockerfile -t concierge-ops/control-plane .
# The build stage runs deploy/build-image.sh, which CI runs too (test/integration/image-stage.test.ts); the
# runtime stage is the staged folder on a slim Node LTS, run as the unprivileged `node` user.

# The base: the published Node LTS image by default; scripts/images-build.sh passes a local one (docs/deployment.md).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The locked dependencies first, so a change to the sources reuses this layer. npm ci checks the lock file
# against every workspace's package.json, so each one is copied (test/unit/compose.test.ts keeps the list whole).
COPY package.json package-lock.json ./
COPY exporters/shared/package.json exporters/shared/
COPY exporters/embedded-postgres/package.json exporters/embedded-postgres/
COPY control-plane/package.json control-plane/
COPY exporters/fleet-prober/package.json exporters/fleet-prober/
COPY exporters/backup-exporter/package.json exporters/backup-exporter/
COPY exporters/concierge-telemetry/package.json exporters/concierge-telemetry/
COPY exporters/concierge-demo/package.json exporters/concierge-demo/
COPY grafana/package.json grafana/
RUN npm ci --no-audit --no-fund
COPY . .
RUN sh deploy/build-image.sh control-plane /stage

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
ENV DATA_DIR=/data
WORKDIR /app
COPY --from=build /stage /app
# State lives in /data and audit checkpoints in /audit-checkpoints (volumes); the folders are made here so a
# new volume inherits the node user's ownership.
RUN mkdir -p /data /audit-checkpoints && chown node:node /data /audit-checkpoints
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=8 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["node", "control-plane/dist/main.js"]
