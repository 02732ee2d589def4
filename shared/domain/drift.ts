import type { InstanceStore } from './ports.ts';

/*
 * Drift: how an instance's configuration differs between regions, document by document. The
 * stores list each object with its MD5 and size, so comparing costs one listing per region
 * (for API Gateway, one read of the instance) and reads no body. Works for every kind.
 */

/** One document that is not the same everywhere. */
export interface DriftedDocument {
  key: string;
  /** Regions whose copy differs from the reference region's. */
  differs: string[];
  /** Regions that lack it (the reference region has it). */
  missing: string[];
  /** Regions that have it although the reference region does not. */
  extra: string[];
}

/** The drift of one instance across regions. */
export interface DriftReport {
  instanceId: string;
  /** The region every other is compared with (home, or the region serving). */
  reference: string;
  regions: string[];
  documents: DriftedDocument[];
  /** Regions whose store could not be read. */
  unreachable: { region: string; error: string }[];
  inSync: boolean;
}

/** A region's instance store, to compare. */
export interface RegionStore {
  region: string;
  store: InstanceStore;
}

/** Compares an instance's documents in `regions` with those of `reference` (the first region). */
export async function compareRegions(
  instanceId: string,
  regions: readonly RegionStore[],
): Promise<DriftReport> {
  const listings = await Promise.all(
    regions.map(async ({ region, store }) => {
      try {
        const entries = await store.list(instanceId);
        return {
          region,
          entries: new Map(entries.map((e) => [e.key, `${e.etag.replaceAll('"', '')}/${e.size}`])),
        };
      } catch (error) {
        return { region, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  const read = listings.flatMap((l) =>
    'entries' in l && l.entries ? [{ region: l.region, entries: l.entries }] : [],
  );
  const unreachable = listings.flatMap((l) =>
    'error' in l && l.error !== undefined ? [{ region: l.region, error: l.error }] : [],
  );
  const reference = read[0];
  const documents: DriftedDocument[] = [];
  if (reference) {
    const keys = new Set(read.flatMap((r) => [...r.entries.keys()]));
    for (const key of [...keys].sort()) {
      const want = reference.entries.get(key);
      const drift: DriftedDocument = { key, differs: [], missing: [], extra: [] };
      for (const other of read.slice(1)) {
        const have = other.entries.get(key);
        if (want === undefined && have !== undefined) drift.extra.push(other.region);
        else if (want !== undefined && have === undefined) drift.missing.push(other.region);
        else if (want !== have) drift.differs.push(other.region);
      }
      if (drift.differs.length + drift.missing.length + drift.extra.length > 0)
        documents.push(drift);
    }
  }
  return {
    instanceId,
    reference: reference?.region ?? regions[0]?.region ?? '',
    regions: regions.map((r) => r.region),
    documents,
    unreachable,
    inSync: documents.length === 0 && unreachable.length === 0 && read.length > 0,
  };
}
