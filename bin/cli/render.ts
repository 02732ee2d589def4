import type { Weights } from '../../shared/domain/recovery/ports.ts';
import { describeWeights } from '../../shared/domain/recovery/weights.ts';

/** Formatting the verbs share: ages, durations, weights and aligned tables. */

/** "42 s", "5m 04s", "2h 03m", "3d 04h": short enough for a table cell. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** A duration in milliseconds as "1.2 s". */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Rows as columns padded to their widest cell; the last column is not padded. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** Weights as "a=0 b=100", "(no records)" when there are none, "?" when unknown. */
export function weightsLine(weights: Weights | undefined): string {
  return weights ? describeWeights(weights) || '(no records)' : '?';
}
