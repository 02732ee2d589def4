import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where `local up` records the moto_server it started, so `local down` can stop it. */
export const STATE_FILE = resolve('.lifeboat/local.json');

/** The recorded local world. */
export interface LocalWorldState {
  pid: number;
  endpoint: string;
  startedAt: string;
  configPath: string;
}

export function readWorldState(): LocalWorldState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LocalWorldState;
  } catch {
    return undefined;
  }
}

export function writeWorldState(state: LocalWorldState): void {
  mkdirSync(dirname(STATE_FILE), { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

export function clearWorldState(): void {
  rmSync(STATE_FILE, { force: true });
}

/** True when a process with this pid is alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
