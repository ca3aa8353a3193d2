/**
 * prometheus/tests/<name>.test.yml, every one of them: the rules test runs each with promtool, the cluster-label
 * test reruns each with two clusters, and both check that none is left out of this list.
 */
export const PROMTOOL_TESTS = [
  'fleet',
  'fleet-quorum',
  'slo',
  'slo-recovery',
  'slo-latency',
  'slo-sla',
  'concierge',
  'platform',
  'backups',
  'audit',
  'longterm',
  'heartbeats',
  'response-targets',
  'capacity',
  'hosts',
  'postgres',
] as const;
