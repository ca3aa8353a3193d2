-- Up Migration

-- Each instance's host and database exporters (node_exporter, postgres_exporter), listed for Prometheus through
-- /api/v1/sd/scrape-targets?job=node|postgres like the runtime's own metrics_url (docs/hosts-and-databases.md).
alter table instances add column node_exporter_url text, add column postgres_exporter_url text;

-- Down Migration
alter table instances drop column node_exporter_url, drop column postgres_exporter_url;
