# The demo image. Build from the repository root:
#   docker build -f deploy/docker/demo.Dockerfile -t concierge-ops/demo .
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
RUN sh deploy/build-image.sh demo /stage

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
ENV DEMO_STATE_DIR=/data
WORKDIR /app
COPY --from=build /stage /app
# State lives in /data (a volume); the folder is made here so a new volume inherits the node user's ownership.
RUN mkdir -p /data && chown node:node /data
USER node
# Its instances listen on ports of their own; `main.js status` asks the running demo through its control API.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=8 \
  CMD ["node", "exporters/concierge-demo/dist/main.js", "status"]
ENTRYPOINT ["/app/entrypoint.sh"]
# V8 and malloc settings: see exporters/concierge-demo/src/node-options.ts.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=131072
CMD ["node", "--liftoff-only", "exporters/concierge-demo/dist/main.js"]
