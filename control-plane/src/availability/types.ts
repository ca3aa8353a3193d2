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
  source: 'prober' | 'operator' | 'alert';
  reason: string;
}

export interface CurrentState {
  instanceId: string;
  service: string;
  state: ServiceState;
  since: string;
}
