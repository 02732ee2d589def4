/** The signals the detector consumes: probe observations, alarms, AWS Health events, ticks. */

/** One probe result: a vantage region's view of one endpoint (instance × zone) of a target region. */
export interface Observation {
  vantage: string;
  target: string;
  zone: string;
  instanceId: string;
  ok: boolean;
  status?: number;
  error?: string;
  latencyMs: number;
  /** ISO time the probe ran. */
  at: string;
}

/** A CloudWatch alarm (e.g. on a Route 53 health check) about one instance in one region. */
export interface AlarmSignal {
  alarmName: string;
  region: string;
  instanceId: string;
  state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  at: string;
}

/** An AWS Health event about a service in one region. */
export interface HealthSignal {
  eventArn: string;
  region: string;
  service: string;
  status: 'open' | 'closed' | 'upcoming';
  at: string;
}

/** Everything the detector consumes. */
export type Signal =
  | { kind: 'observation'; observation: Observation }
  | { kind: 'alarm'; alarm: AlarmSignal }
  | { kind: 'health'; health: HealthSignal }
  | { kind: 'tick'; at: string };

/** When a signal happened: the time every signal kind carries. */
export const signalAt = (signal: Signal): string => {
  switch (signal.kind) {
    case 'observation':
      return signal.observation.at;
    case 'alarm':
      return signal.alarm.at;
    case 'health':
      return signal.health.at;
    case 'tick':
      return signal.at;
  }
};

/** The target region a signal is about; a tick is about none. */
export const signalRegion = (signal: Signal): string | undefined =>
  signal.kind === 'observation'
    ? signal.observation.target
    : signal.kind === 'alarm'
      ? signal.alarm.region
      : signal.kind === 'health'
        ? signal.health.region
        : undefined;
