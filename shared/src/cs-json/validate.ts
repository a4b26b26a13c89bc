import { findOs } from '../postgres/os.ts';
import { machineCatalogs } from '../targets/catalogs.ts';
import type { FieldProblem } from '../errors.ts';
import { toProblems } from './problems.ts';
import { componentSchema, planSchema, targetSchema } from './schema.ts';
import { parseRepoUrl } from './app-schema.ts';
import type { AppComponent, Component, ParsedComponent, ParsedPostgresComponent, Plan, PostgresComponent, Target } from './schema.ts';
import { isShorthand, shorthandPath, shorthandToPlan } from './shorthand.ts';

export type ValidationResult = { ok: true; plan: Plan } | { ok: false; errors: FieldProblem[] };

export interface ValidateOptions {
  /** Target used when a shorthand body (which names none) is given. */
  readonly defaultTarget?: Target;
}

/**
 * Validates a cs-json document or the original spec's shorthand and returns the normalised plan,
 * or every problem at once with its JSON-pointer path.
 */
export function validatePlan(input: unknown, options: ValidateOptions = {}): ValidationResult {
  if (isShorthand(input)) {
    const converted = shorthandToPlan(input, options.defaultTarget ?? { cloud: 'local' });
    if (!converted.ok) return converted;
    const result = validateDocument(converted.document);
    if (result.ok) return result;
    return { ok: false, errors: result.errors.map((problem) => ({ ...problem, path: shorthandPath(problem.path) })) };
  }
  return validateDocument(input);
}

function validateDocument(input: unknown): ValidationResult {
  const parsed = planSchema.safeParse(input, { reportInput: true });
  const errors = parsed.success ? [] : toProblems(parsed.error.issues);
  // Cross-field rules run on every component that is well-formed on its own, so one answer
  // lists every problem even when another part of the document is broken.
  const document = isRecord(input) ? input : {};
  const rawComponents = Array.isArray(document.components) ? (document.components as unknown[]) : [];
  const target = targetSchema.safeParse(document.target);
  const seenIds = new Map<string, number>();
  const components = rawComponents.map((raw, index) => {
    const base = `/components/${index}`;
    const component = componentSchema.safeParse(raw);
    if (!component.success) return undefined;
    const firstIndex = seenIds.get(component.data.id);
    if (firstIndex === undefined) seenIds.set(component.data.id, index);
    else errors.push({ path: `${base}/id`, message: `duplicates the id of /components/${firstIndex}` });
    const plannedTarget = target.success ? target.data : { cloud: 'local' as const };
    return normaliseComponent(withCloudDefaults(component.data, raw, plannedTarget), plannedTarget, base, errors);
  });
  checkLinks(components, errors);
  if (!parsed.success || errors.length > 0) return { ok: false, errors };
  return { ok: true, plan: { ...parsed.data, components: components.filter((component) => component !== undefined) } };
}

/** Amazon Linux is the default OS, and AWS's own: a component on another cloud that names no OS gets Debian 12. */
function withCloudDefaults(component: ParsedComponent, raw: unknown, target: Target): ParsedComponent {
  if (component.type !== 'postgres' || (target.cloud !== 'gcp' && target.cloud !== 'azure')) return component;
  if (isRecord(raw) && raw.os !== undefined) return component;
  return { ...component, os: { name: 'debian', version: '12' } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks what one component's schema cannot see on its own and fills what its kind derives; problems go to `errors`. */
type Normaliser<Kind extends ParsedComponent['type']> = (
  component: Extract<ParsedComponent, { type: Kind }>,
  target: Target,
  base: string,
  errors: FieldProblem[],
) => Extract<Component, { type: Kind }>;

/** One normaliser per component kind, beside its member of the schema's union. */
const normalisers: { readonly [Kind in ParsedComponent['type']]: Normaliser<Kind> } = { postgres: normalisePostgres, app: normaliseApp };

function normaliseComponent(component: ParsedComponent, target: Target, base: string, errors: FieldProblem[]): Component {
  return component.type === 'postgres' ? normalisers.postgres(component, target, base, errors) : normalisers.app(component, target, base, errors);
}

/** An app's `database` names a postgres component of the same plan (the list holds undefined where a component did not parse). */
function checkLinks(components: readonly (Component | undefined)[], errors: FieldProblem[]): void {
  const databases = components.filter((component) => component?.type === 'postgres').map((component) => component?.id);
  components.forEach((component, index) => {
    if (component?.type !== 'app' || component.database === undefined) return;
    const named = component.database.component;
    if (databases.includes(named)) return;
    const other = components.find((candidate) => candidate?.id === named);
    errors.push({
      path: `/components/${index}/database/component`,
      message:
        other === undefined
          ? `names no component of this plan; its databases are ${databases.join(', ') || 'none'}`
          : `${named} is ${other.type === 'app' ? 'an app' : `a ${other.type} component`}, not a postgres database`,
    });
  });
}

function normaliseApp(component: AppComponent, target: Target, base: string, errors: FieldProblem[]): AppComponent {
  const location = parseRepoUrl(component.source.repoUrl);
  if (typeof location !== 'string' && location.kind === 'local' && target.cloud !== 'local') {
    errors.push({
      path: `${base}/source/repoUrl`,
      message: `a repository on this machine can only be deployed to the local target; ${target.cloud} builds clone an https:// URL`,
    });
  }
  const clash = component.secrets.find((name) => name in component.env);
  if (clash !== undefined) errors.push({ path: `${base}/secrets`, message: `${clash} is also a plain variable in env; name it once` });
  return component;
}

const CLOUD_NAMES: Record<Exclude<Target['cloud'], 'local'>, string> = { aws: 'AWS', gcp: 'Google Cloud', azure: 'Azure' };

const DEFAULT_CPUS = 2;
const DEFAULT_MEMORY_GIB = 4;

function normalisePostgres(component: ParsedPostgresComponent, target: Target, base: string, errors: FieldProblem[]): PostgresComponent {
  const { hardware, os, db } = component;
  const image = findOs(os.name, os.version);
  if (!image) {
    errors.push({ path: `${base}/os/version`, message: `${os.name} ${os.version} is not offered; see the OS table` });
  } else if (!image.pgMajors.includes(Number(db.version))) {
    errors.push({
      path: `${base}/db/version`,
      message: `PostgreSQL ${db.version} is not offered on ${image.label}; choose one of ${image.pgMajors.join(', ')}`,
    });
  }

  if (os.name === 'amazon-linux' && (target.cloud === 'gcp' || target.cloud === 'azure')) {
    errors.push({ path: `${base}/os/name`, message: `Amazon Linux runs on AWS only; choose debian or ubuntu on ${CLOUD_NAMES[target.cloud]}` });
  }

  // Every hint a component carries must name a size in its cloud's catalog, so the plan can move
  // between clouds; the hint of the cloud it deploys to (AWS's on the local cloud) sets its size.
  let cpus = hardware.cpus ?? DEFAULT_CPUS;
  let memoryGiB = hardware.memoryGiB ?? DEFAULT_MEMORY_GIB;
  const sizing = machineCatalogs[target.cloud === 'local' ? 'aws' : target.cloud];
  for (const catalog of Object.values(machineCatalogs)) {
    const hint = catalog.hint(component);
    if (hint === undefined) continue;
    const machine = catalog.find(hint);
    if (!machine) {
      errors.push({ path: `${base}/hardware/${catalog.hintField}`, message: `${hint} is not in the ${catalog.catalogName} catalog` });
      continue;
    }
    if (catalog !== sizing) continue;
    if (hardware.cpus !== undefined && hardware.cpus !== machine.vcpus) {
      errors.push({ path: `${base}/hardware/cpus`, message: `${hint} has ${machine.vcpus} vCPUs; leave cpus out or make it ${machine.vcpus}` });
    }
    if (hardware.memoryGiB !== undefined && hardware.memoryGiB !== machine.memoryGiB) {
      errors.push({
        path: `${base}/hardware/memoryGiB`,
        message: `${hint} has ${machine.memoryGiB} GiB; leave memoryGiB out or make it ${machine.memoryGiB}`,
      });
    }
    cpus = machine.vcpus;
    memoryGiB = machine.memoryGiB;
  }
  if (target.cloud !== 'local' && sizing.hint(component) === undefined && !sizing.cheapestFit({ cpus, memoryGiB })) {
    errors.push({ path: `${base}/hardware`, message: `no ${sizing.label} ${sizing.noun} in the catalog has ${cpus} vCPUs and ${memoryGiB} GiB` });
  }
  if (target.cloud !== 'local' && hardware.storage.type !== 'ssd') {
    errors.push({ path: `${base}/hardware/storage/type`, message: `only "ssd" (encrypted network SSD) is offered on ${CLOUD_NAMES[target.cloud]}` });
  }
  return { ...component, hardware: { ...hardware, cpus, memoryGiB } };
}
