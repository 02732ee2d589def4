/** One copy of an instance in one region: whether it serves, what, and whether it is fenced. */
export interface InstanceCopy {
  activated: boolean;
  /** The digest of the config it serves, once activated. */
  digest?: string;
  fenced: boolean;
}

/**
 * The copies of every instance in every region, in memory: activated with the digest of what
 * they serve, fenced or not. The one instance-runtime state of the test fakes and the
 * simulator; each answers `health` and client writes its own way around it (the fakes with
 * their scripts and faults, the simulator with its zones and advisory fences).
 */
export class MemoryInstances<T extends InstanceCopy = InstanceCopy> {
  private readonly copies = new Map<string, T>();

  /** `standby` makes a copy that was never activated (extra fields included). */
  constructor(private readonly standby: () => T) {}

  /** The copy of `instanceId` in `region`; a standby one the first time it is asked for. */
  copy(instanceId: string, region: string): T {
    const key = `${instanceId}/${region}`;
    let copy = this.copies.get(key);
    if (!copy) {
      copy = this.standby();
      this.copies.set(key, copy);
    }
    return copy;
  }

  /** The copy, or undefined when nothing ever touched it. */
  peek(instanceId: string, region: string): T | undefined {
    return this.copies.get(`${instanceId}/${region}`);
  }

  /** The copy serves the config with `digest` from now on. */
  activate(instanceId: string, region: string, digest: string): T {
    const copy = this.copy(instanceId, region);
    copy.activated = true;
    copy.digest = digest;
    return copy;
  }

  /** Raises or lowers the copy's fence; false when it already stood so (nothing changed). */
  setFence(instanceId: string, region: string, fenced: boolean): boolean {
    const copy = this.copy(instanceId, region);
    if (copy.fenced === fenced) return false;
    copy.fenced = fenced;
    return true;
  }

  /** The copy is gone (its region destroyed): a standby one takes its place. */
  reset(instanceId: string, region: string): void {
    this.copies.set(`${instanceId}/${region}`, this.standby());
  }
}
