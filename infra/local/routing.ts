import type { HttpMethod, Route } from '@cloudseed/functions/routes';

// API Gateway's route selection, for the routes in functions/routes.ts: `{name}` matches one path
// segment and `{name+}` the rest of the path; among the routes for the request's method, the path
// with the most literal segments wins. A path that only matches under other methods is a 405.

export type RouteMatch<R extends Route> =
  | { readonly kind: 'route'; readonly route: R; readonly pathParameters: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly HttpMethod[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'bad-path'; readonly detail: string };

type Segment = { readonly kind: 'literal'; readonly value: string } | { readonly kind: 'parameter'; readonly name: string; readonly greedy: boolean };

interface CompiledRoute<R extends Route> {
  readonly route: R;
  readonly segments: readonly Segment[];
  readonly literals: number;
}

export interface Router<R extends Route> {
  match(method: string, rawPath: string): RouteMatch<R>;
}

export function createRouter<R extends Route>(routes: readonly R[]): Router<R> {
  const seen = new Set<string>();
  const compiled = routes.map((route): CompiledRoute<R> => {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is listed twice`);
    seen.add(key);
    const segments = parsePath(route.path);
    return { route, segments, literals: segments.filter((s) => s.kind === 'literal').length };
  });
  compiled.sort((a, b) => b.literals - a.literals || b.segments.length - a.segments.length);

  return {
    match(method, rawPath) {
      const segments = splitPath(rawPath);
      const allow = new Set<HttpMethod>();
      for (const candidate of compiled) {
        const captured = capture(candidate.segments, segments);
        if (captured === undefined) continue;
        if (candidate.route.method !== method) {
          allow.add(candidate.route.method);
          continue;
        }
        const pathParameters: Record<string, string> = {};
        for (const [name, raw] of Object.entries(captured)) {
          try {
            pathParameters[name] = decodeURIComponent(raw);
          } catch {
            return { kind: 'bad-path', detail: `The path parameter ${name} is not valid percent-encoding.` };
          }
        }
        return { kind: 'route', route: candidate.route, pathParameters };
      }
      return allow.size > 0 ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
    },
  };
}

function parsePath(path: string): Segment[] {
  if (!path.startsWith('/')) throw new Error(`route path ${path} must start with /`);
  const segments = splitPath(path).map((part): Segment => {
    const parameter = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(part);
    if (parameter === null) return { kind: 'literal', value: part };
    return { kind: 'parameter', name: parameter[1] ?? '', greedy: parameter[2] === '+' };
  });
  if (segments.slice(0, -1).some((s) => s.kind === 'parameter' && s.greedy)) throw new Error(`route path ${path}: a greedy parameter must come last`);
  return segments;
}

/** Path segments, still percent-encoded; one trailing slash is ignored. */
function splitPath(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}

function capture(pattern: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  const captured: Record<string, string> = {};
  for (const [index, segment] of pattern.entries()) {
    if (segment.kind === 'parameter' && segment.greedy) {
      const rest = segments.slice(index).join('/');
      if (rest === '') return undefined;
      captured[segment.name] = rest;
      return captured;
    }
    const actual = segments[index];
    if (actual === undefined) return undefined;
    if (segment.kind === 'literal') {
      if (actual !== segment.value) return undefined;
    } else {
      if (actual === '') return undefined;
      captured[segment.name] = actual;
    }
  }
  return segments.length === pattern.length ? captured : undefined;
}
