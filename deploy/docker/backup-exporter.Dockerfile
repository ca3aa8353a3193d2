# The backup-exporter image. Build from the repository root:
#   docker build -f deploy/docker/backup-exporter.Dockerfile -t concierge-ops/backup-exporter .
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
RUN sh deploy/build-image.sh backup-exporter /stage

FROM ${NODE_IMAGE}
# The restore test runs pg_restore, whose major version must read the archives: Debian 12's is 15, older than
# the stack's PostgreSQL 17, so it comes from PostgreSQL's own apt repository (postgresql-common holds its key).
# PG_CLIENT=debian installs Debian's 15 instead, for a build that reaches only Debian's mirror (docs/deployment.md:
# its restore test cannot read PostgreSQL 17 archives).
ARG PG_CLIENT=pgdg
RUN apt-get update \
  && if [ "$PG_CLIENT" = debian ]; then \
    apt-get install -y --no-install-recommends postgresql-client-15 \
    && ln -s /usr/lib/postgresql/15/bin/pg_restore /usr/local/bin/pg_restore; \
  else \
    apt-get install -y --no-install-recommends ca-certificates postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends postgresql-client-17 \
    && ln -s /usr/lib/postgresql/17/bin/pg_restore /usr/local/bin/pg_restore; \
  fi \
  && rm -rf /var/lib/apt/lists/*
ENV BACKUP_PG_RESTORE=/usr/local/bin/pg_restore
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /stage /app
# State lives in /data (a volume); the folder is made here so a new volume inherits the node user's ownership.
RUN mkdir -p /data && chown node:node /data
USER node
# Serves only /metrics: a successful scrape is its health.
EXPOSE 9471
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=8 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BACKUP_EXPORTER_PORT || 9471) + '/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/entrypoint.sh"]
# V8 and malloc settings: see exporters/backup-exporter/src/node-options.ts.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=131072
CMD ["node", "--max-semi-space-size=1", "exporters/backup-exporter/dist/main.js"]
