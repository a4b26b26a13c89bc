// The plans the API, deploy and backup tests send. Each test states the values its assertions
// depend on at the call site (`planWith({ db: { maxConnections: 40 } })`); what it leaves out comes
// from the single-node plan below, the smallest one the local cloud deploys quickly.

type Part = Readonly<Record<string, unknown>>;

/** A cs-json document as a client sends it: loose on purpose, so that tests can also send invalid ones. */
interface PlanBody {
  readonly apiVersion: 'cs/v1';
  readonly name: string;
  readonly target?: Part;
  readonly components: readonly Part[];
}

/** What a test changes: the plan's name and target, and its one PostgreSQL component's parts. */
interface PlanChanges {
  readonly name?: string;
  readonly target?: Part;
  /** Merged into the single-node plan's hardware, key by key (a `storage` given here replaces it whole). */
  readonly hardware?: Part;
  /** Merged into the single-node plan's db, key by key (likewise `backup` and `topology`). */
  readonly db?: Part;
  readonly network?: Part;
}

const SINGLE_NODE_HARDWARE = { memoryGiB: 1 };
const SINGLE_NODE_DB = { version: '15', maxConnections: 30 };

/** The single-node plan with `changes` applied; it targets the local cloud unless `changes.target` says otherwise. */
export function planWith(changes: PlanChanges = {}): PlanBody {
  return {
    apiVersion: 'cs/v1',
    name: changes.name ?? 'orders',
    ...(changes.target === undefined ? {} : { target: changes.target }),
    components: [
      {
        id: 'db',
        type: 'postgres',
        hardware: { ...SINGLE_NODE_HARDWARE, ...changes.hardware },
        db: { ...SINGLE_NODE_DB, ...changes.db },
        ...(changes.network === undefined ? {} : { network: changes.network }),
      },
    ],
  };
}

/** One PostgreSQL 15 node with 1 GiB of memory and 30 connections, on the local cloud. */
export const singleNodePlan: PlanBody = planWith();

/** The single-node plan with one streaming replica: a primary and a replica. */
export const clusterPlan: PlanBody = planWith({ name: 'cluster', db: { topology: { mode: 'cluster', replicas: 1 } } });

/** The original spec's shorthand body, which the API normalises into cs-json. */
export const shorthandPlan = {
  os: 'linux',
  hardware: { instance_type: 't3.medium', storage: 'ssd' },
  db: { flavor: 'pg', version: '15', backup: 'needed' },
} as const;
