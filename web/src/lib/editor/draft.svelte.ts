import { catalogFor, machineCatalogs, withMachineHint } from '@cloudseed/shared/targets/catalogs';
import type { PricedCloud } from '@cloudseed/shared/targets/catalogs';
import type { CostEstimate, Machine } from '@cloudseed/shared/targets/machines';
import { componentById } from '@cloudseed/shared/cs-json/components';
import { API_VERSION } from '@cloudseed/shared/cs-json/schema';
import type { AppComponent, ParsedPostgresComponent, Plan, PlanInput, PostgresComponent } from '@cloudseed/shared/cs-json/schema';
import { validatePlan } from '@cloudseed/shared/cs-json/validate';
import type { FieldProblem } from '@cloudseed/shared/errors';
import { tuneComponent } from '@cloudseed/shared/postgres/config';
import type { TuneResult } from '@cloudseed/shared/postgres/pgtune';

// The plan being edited: the cs-json document as the form holds it, checked on every change by
// the same validatePlan the API runs, with each problem kept at its JSON-pointer path so every
// field shows its own. The tuned settings and the cost come from the same knowledge base.

/** A number input holds null while it is empty; validatePlan then reports the field as required. */
type Bindable<T> = T extends number
  ? number | null
  : T extends readonly (infer Item)[]
    ? Bindable<Item>[]
    : T extends object
      ? { -readonly [Key in keyof T]: Bindable<T[Key]> }
      : T;

/**
 * A component as the form holds it: the schema's parsed shape, every field with a default written
 * out so the form can bind to each one. The canvas places cards, so a position is never empty.
 */
type Editable<Parsed extends { position: unknown }> = Omit<Bindable<Parsed>, 'position'> & Pick<Parsed, 'position'>;

export type EditablePostgresComponent = Editable<ParsedPostgresComponent>;
export type EditableAppComponent = Editable<AppComponent>;
export type EditableComponent = EditablePostgresComponent | EditableAppComponent;
export type ComponentKind = EditableComponent['type'];

/** An app's arrow to the database it names (both ids of the plan). */
export interface ComponentLink {
  readonly from: string;
  readonly to: string;
}

export type EditablePlan = Omit<Plan, 'components'> & { components: EditableComponent[] };

export interface Preview {
  readonly component: PostgresComponent;
  /** The cloud the estimate is for: the plan's own, or AWS for the local cloud. */
  readonly cloud: PricedCloud;
  readonly instance: Machine | undefined;
  readonly tuning: TuneResult;
  readonly cost: CostEstimate;
  /** The same component on every cloud CloudSeed prices, cheapest first; a cloud with no size that fits is left out. */
  readonly clouds: readonly CloudPrice[];
}

export interface CloudPrice {
  readonly cloud: PricedCloud;
  readonly label: string;
  readonly machine: string;
  readonly totalUsd: number;
}

const CARD_WIDTH = 260;
const CARD_GAP = 40;

function positionAt(index: number): { x: number; y: number } {
  return { x: 40 + index * (CARD_WIDTH + CARD_GAP), y: 40 };
}

/** The OS a new database gets: Amazon Linux where it runs (AWS and the local cloud), else Debian 12. */
function defaultOs(cloud: Plan['target']['cloud']): EditablePostgresComponent['os'] {
  return cloud === 'gcp' || cloud === 'azure' ? { name: 'debian', version: '12' } : { name: 'amazon-linux', version: '2023' };
}

export function newComponent(id: string, index: number, pgVersion: string, cloud: Plan['target']['cloud'] = 'local'): EditablePostgresComponent {
  return {
    id,
    type: 'postgres',
    position: positionAt(index),
    os: defaultOs(cloud),
    hardware: { cpus: 2, memoryGiB: 4, storage: { type: 'ssd', sizeGiB: 20 } },
    db: {
      engine: 'postgres',
      version: pgVersion,
      maxConnections: 100,
      workload: 'web',
      dataSize: 'mid_ram',
      databaseName: 'app',
      username: 'app',
      topology: { mode: 'single', replicas: 0, synchronous: false },
      backup: { enabled: true, schedule: '0 3 * * *', timezone: 'UTC', retentionDays: 7, validate: true, fullEveryDays: 7, incrementalEveryHours: 4 },
    },
    network: { allowedCidrs: [] },
  };
}

/** An app with nothing detected overridden yet; it uses `database` when the plan has one. */
export function newApp(id: string, index: number, database: string | undefined): EditableAppComponent {
  return {
    id,
    type: 'app',
    position: positionAt(index),
    source: { repoUrl: '', branch: 'main', rootDir: '' },
    build: {},
    run: { port: 8080 },
    healthCheck: { path: '/', startPeriodSeconds: 30, intervalSeconds: 5, timeoutSeconds: 2 },
    env: {},
    secrets: [],
    instances: { count: 1, cpu: 256, memoryMiB: 512 },
    ...(database === undefined ? {} : { database: { component: database } }),
  };
}

export function newPlan(target: EditablePlan['target']): EditablePlan {
  return { apiVersion: API_VERSION, name: '', target, components: [] };
}

export class PlanDraft {
  plan = $state<EditablePlan>() as EditablePlan;
  selectedId = $state<string | undefined>();
  /** The document as last saved (or loaded); undefined for a plan never saved. */
  saved = $state<string | undefined>();

  constructor(plan: EditablePlan, saved: boolean) {
    this.plan = plan;
    this.saved = saved ? JSON.stringify(plan) : undefined;
    this.selectedId = plan.components[0]?.id;
  }

  readonly validation = $derived(validatePlan($state.snapshot(this.plan)));
  readonly valid = $derived(this.validation.ok);
  readonly problems: readonly FieldProblem[] = $derived(this.validation.ok ? [] : this.validation.errors);
  readonly dirty = $derived(this.saved !== JSON.stringify(this.plan));
  readonly databases: readonly EditablePostgresComponent[] = $derived(
    this.plan.components.filter((component): component is EditablePostgresComponent => component.type === 'postgres'),
  );
  /** Each app's link to a database of the plan; a link naming no database of the plan is a problem at its field, not an arrow. */
  readonly links: readonly ComponentLink[] = $derived(
    this.plan.components.flatMap((component) =>
      component.type === 'app' && component.database && this.databases.some((database) => database.id === component.database?.component)
        ? [{ from: component.id, to: component.database.component }]
        : [],
    ),
  );

  readonly selectedIndex = $derived(this.plan.components.findIndex((component) => component.id === this.selectedId));
  readonly selected: EditableComponent | undefined = $derived(this.selectedId === undefined ? undefined : componentById(this.plan, this.selectedId));

  /** The problem at exactly `path` (a JSON pointer), if any. */
  problem(path: string): string | undefined {
    return this.problems.find((problem) => problem.path === path)?.message;
  }

  /** Problems of the plan that no field shows: under `prefix` and not in `shown`. */
  otherProblems(shown: ReadonlySet<string>): FieldProblem[] {
    return this.problems.filter((problem) => !shown.has(problem.path));
  }

  /** Problems anywhere inside component `index`. */
  componentProblems(index: number): FieldProblem[] {
    const prefix = `/components/${index}`;
    return this.problems.filter((problem) => problem.path === prefix || problem.path.startsWith(`${prefix}/`));
  }

  /** Tuned settings and cost of the selected component, as the deploy will apply them. */
  readonly preview: Preview | undefined = $derived.by(() => previewOf(this.selected, this.plan.target.cloud));

  /** Adds a PostgreSQL component, selected. */
  add(pgVersion: string): EditablePostgresComponent {
    return this.#place(newComponent(this.#freeId('postgres'), this.plan.components.length, pgVersion, this.plan.target.cloud));
  }

  /** Moves the plan to another target; databases on Amazon Linux move to Debian 12 where Amazon Linux is not offered. */
  retarget(target: EditablePlan['target']): void {
    this.plan.target = target;
    if (target.cloud !== 'gcp' && target.cloud !== 'azure') return;
    for (const component of this.plan.components) {
      if (component.type === 'postgres' && component.os.name === 'amazon-linux') component.os = defaultOs(target.cloud);
    }
  }

  /** Adds an app, selected, using the plan's first database when it has one. */
  addApp(): EditableAppComponent {
    return this.#place(newApp(this.#freeId('app'), this.plan.components.length, this.databases[0]?.id));
  }

  /** Removes a component; an app that used it as its database no longer names one. */
  remove(id: string): void {
    this.plan.components = this.plan.components.filter((component) => component.id !== id);
    for (const component of this.plan.components) {
      if (component.type === 'app' && component.database?.component === id) delete component.database;
    }
    if (this.selectedId === id) this.selectedId = this.plan.components[0]?.id;
  }

  #freeId(base: string): string {
    const taken = (id: string) => this.plan.components.some((component) => component.id === id);
    let n = 1;
    while (taken(n === 1 ? base : `${base}-${n}`)) n++;
    return n === 1 ? base : `${base}-${n}`;
  }

  /** Puts `component` on the canvas, selected; what it returns is the plan's own (reactive) copy. */
  #place<C extends EditableComponent>(component: C): C {
    this.plan.components.push(component);
    this.selectedId = component.id;
    return this.plan.components[this.plan.components.length - 1] as C;
  }

  /** Size by one of the cloud's own sizes: its vCPUs and memory follow it. */
  useMachine(component: EditablePostgresComponent, cloud: PricedCloud, name: string): void {
    const machine = machineCatalogs[cloud].find(name);
    component.hardware = withMachineHint(component.hardware, cloud, name);
    if (machine) {
      component.hardware.cpus = machine.vcpus;
      component.hardware.memoryGiB = machine.memoryGiB;
    }
  }

  /** Size by vCPUs and memory; the cheapest size of the cloud that fits is chosen at deploy. */
  useCustomSize(component: EditablePostgresComponent, cloud: PricedCloud): void {
    component.hardware = withMachineHint(component.hardware, cloud, undefined);
  }

  markSaved(plan: EditablePlan): void {
    this.plan = plan;
    this.saved = JSON.stringify(plan);
    if (!plan.components.some((component) => component.id === this.selectedId)) this.selectedId = plan.components[0]?.id;
  }

  /** The document to send: exactly what the form holds. */
  toInput(): PlanInput {
    return $state.snapshot(this.plan) as PlanInput;
  }
}

/** The normalised database on its own (a placeholder name lets it be checked before the plan has one); an app has no tuning to preview. */
export function previewOf(component: EditableComponent | undefined, target: Plan['target']['cloud'] = 'local'): Preview | undefined {
  if (component?.type !== 'postgres') return undefined;
  // Without the plan's own settings: a setting being typed (its field shows the problem) keeps the preview, and its table, in view.
  const snapshot = $state.snapshot(component);
  const { parameters: _own, ...db } = snapshot.db;
  const result = validatePlan({ apiVersion: API_VERSION, name: 'preview', target: { cloud: 'local' }, components: [{ ...snapshot, db }] });
  if (!result.ok) return undefined;
  const normalised = componentById(result.plan, component.id);
  if (normalised?.type !== 'postgres') return undefined;
  const wanted = target === 'local' ? 'aws' : target;
  const clouds = (Object.keys(machineCatalogs) as PricedCloud[])
    .flatMap((each) => {
      const price = priceOn(each, normalised);
      return price ? [price] : [];
    })
    .sort((a, b) => a.totalUsd - b.totalUsd);
  // A size no catalog of the plan's cloud holds is that cloud's validation error; meanwhile the estimate stays AWS's.
  const cloud = priceOn(wanted, normalised) ? wanted : 'aws';
  const catalog = catalogFor(cloud);
  return {
    component: normalised,
    cloud,
    instance: catalog.machineFor(normalised),
    tuning: tuneComponent(normalised),
    cost: catalog.cost(normalised),
    clouds,
  };
}

/** What the component costs on one cloud; undefined when none of its sizes fits (or a hint names none of them). */
function priceOn(cloud: PricedCloud, component: PostgresComponent): CloudPrice | undefined {
  const catalog = machineCatalogs[cloud];
  try {
    const machine = catalog.machineFor(component);
    return { cloud, label: catalog.label, machine: machine.name, totalUsd: catalog.cost(component).totalUsd };
  } catch {
    return undefined;
  }
}

/** A plan from the API as the form edits it. */
export function editable(spec: Plan): EditablePlan {
  return structuredClone(spec);
}
