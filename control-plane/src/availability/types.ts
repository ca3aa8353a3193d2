export type ServiceState = 'up' | 'down' | 'degraded';

export interface TransitionInput {
  id: string;
  instanceId: string;
  service: string;
  state: ServiceState;
  at: string;
  reason: string;
}

export interface TransitionsInput {
  prober: string;
  transitions: TransitionInput[];
}

export interface CorrectionInput {
  instance: string;
  service: string;
  state: 'down' | 'degraded';
  start: string;
  end: string;
  reason: string;
}

export interface Interval {
  id: number;
  instanceId: string;
  service: string;
  state: 'down' | 'degraded';
  start: string;
  end: string | null;
  source: 'prober' | 'operator' | 'alert' | 'history';
  reason: string;
}

export interface CurrentState {
  instanceId: string;
  service: string;
  state: ServiceState;
  since: string;
}

export interface HistoryInput {
  instance: string;
  source: string;
  coverage: { start: string; end: string }[];
  intervals: { service: string; state: 'down' | 'degraded'; start: string; end: string; reason?: string }[];
}

export interface HistoryResult {
  instanceId: string;
  source: string;
  /** false: all of it was imported before */
  changed: boolean;
  coverageAdded: { start: string; end: string }[];
  intervalsAdded: { service: string; state: 'down' | 'degraded'; start: string; end: string }[];
}
