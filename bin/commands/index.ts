import type { Verb } from '../cli/verb.ts';
import { approve } from './approve.ts';
import { demo } from './demo.ts';
import { dns } from './dns.ts';
import { drift } from './drift.ts';
import { drill } from './drill.ts';
import { failback } from './failback.ts';
import { failover } from './failover.ts';
import { gc } from './gc.ts';
import { local } from './local.ts';
import { plan } from './plan.ts';
import { practice } from './practice.ts';
import { reject } from './reject.ts';
import { report } from './report.ts';
import { restore } from './restore.ts';
import { restoreTest } from './restore-test.ts';
import { resume } from './resume.ts';
import { snapshot } from './snapshot.ts';
import { snapshots } from './snapshots.ts';
import { status } from './status.ts';
import { verify } from './verify.ts';

/**
 * Every verb of `lifeboat`, in the order `lifeboat --help` lists them. To add a verb: write
 * `bin/commands/<verb>.ts` exporting its function (what tests call) and a `Verb` (name, summary,
 * options, run), and add it here; `bin/cli/program.ts` gives it its `--help`, parsing and exit
 * codes. Keep the file to parsing, checks and rendering: what it decides belongs in the domain.
 */
export const VERBS: readonly Verb[] = [
  drill,
  dns,
  demo,
  local,
  snapshot,
  snapshots,
  verify,
  restore,
  restoreTest,
  drift,
  gc,
  plan,
  failover,
  failback,
  status,
  resume,
  approve,
  reject,
  practice,
  report,
];
