import type { InstanceControl, InstanceHealth } from '../domain/recovery/ports.ts';

/** One instance control for every kind: each call goes to the control of the instance's kind. */
export class KindRoutedInstanceControl implements InstanceControl {
  constructor(private readonly controlFor: (instanceId: string) => InstanceControl) {}

  activate(instanceId: string, region: string): Promise<void> {
    return this.controlFor(instanceId).activate(instanceId, region);
  }

  health(instanceId: string, region: string): Promise<InstanceHealth> {
    return this.controlFor(instanceId).health(instanceId, region);
  }

  fence(instanceId: string, region: string): Promise<void> {
    return this.controlFor(instanceId).fence(instanceId, region);
  }

  unfence(instanceId: string, region: string): Promise<void> {
    return this.controlFor(instanceId).unfence(instanceId, region);
  }
}
