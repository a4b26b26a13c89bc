import type { FieldProblem } from '../errors.ts';

// A database node's PostgreSQL log as entries: what the server wrote with CloudSeed's
// log_line_prefix ('%m [%p] %q%u@%d ', postgres/config.ts), one entry per message with its DETAIL,
// HINT, STATEMENT… lines and a multi-line statement's continuation folded in. Every secret a
// statement can carry in the clear (a role's PASSWORD literal, a connection string's password) is
// masked before an entry is searched or answered, so neither a search nor a listing can reveal one.

export const MAX_LOG_TAIL = 2000;
const DEFAULT_LOG_TAIL = 200;
const MAX_SEARCH = 200;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** What a masked secret reads as. */
export const MASK = '********';

export interface LogsRequest {
  /** The node whose log to read; unset: the component's primary. */
  readonly node?: string;
  readonly tail: number;
  /** Entries holding this text (case ignored), after masking. */
  readonly search?: string;
}

export type LogsRequestResult = { readonly ok: true; readonly request: LogsRequest } | { readonly ok: false; readonly errors: FieldProblem[] };

/** `?node=<name>&tail=<1-2000>&q=<text>`, each problem naming its parameter. */
export function parseLogsRequest(params: Readonly<Record<string, string | undefined>>): LogsRequestResult {
  const errors: FieldProblem[] = [];
  const { node, q } = params;
  if (node !== undefined && !NODE_NAME.test(node)) errors.push({ path: '?node', message: 'must name a node of the component, e.g. db-1' });
  const tailText = params['tail'];
  const tail = tailText === undefined || tailText === '' ? DEFAULT_LOG_TAIL : Number(tailText);
  if (!/^\d*$/.test(tailText ?? '') || !Number.isInteger(tail) || tail < 1 || tail > MAX_LOG_TAIL)
    errors.push({ path: '?tail', message: `must be a whole number from 1 to ${MAX_LOG_TAIL}` });
  if (q !== undefined && q.length > MAX_SEARCH) errors.push({ path: '?q', message: `must be at most ${MAX_SEARCH} characters` });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    request: { ...(node === undefined || node === '' ? {} : { node }), tail, ...(q === undefined || q.trim() === '' ? {} : { search: q.trim() }) },
  };
}

export type LogLevel = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'LOG' | 'FATAL' | 'PANIC';

export interface LogEntry {
  /** ISO 8601, from the server's millisecond stamp (UTC: log_timezone). */
  readonly time: string;
  readonly pid: number;
  readonly level: LogLevel;
  /** The session's role and database; absent for the server's own processes. */
  readonly user?: string;
  readonly database?: string;
  /** The message with its DETAIL/HINT/STATEMENT… lines, secrets masked. */
  readonly text: string;
  /** A statement slower than log_min_duration_statement: how long it ran. */
  readonly durationMs?: number;
}

// `2026-12-06 09:00:00.123 UTC [1234] app@appdb LOG:  message`; the user@db part only for sessions.
const HEAD = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (?:UTC|GMT) \[(\d+)\] (?:([^\s@]*)@(\S*) )?([A-Z]+\d?):  ?(.*)$/;
const LEVELS = new Set(['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'LOG', 'FATAL', 'PANIC']);
/** Lines PostgreSQL writes after a message, about that message. */
const FOLLOWERS = new Set(['DETAIL', 'HINT', 'QUERY', 'CONTEXT', 'LOCATION', 'STATEMENT']);
const DURATION = /^duration: (\d+(?:\.\d+)?) ms/;

interface Draft {
  time: string;
  pid: number;
  level: LogLevel;
  user?: string;
  database?: string;
  lines: string[];
}

/** The log's text as entries, oldest first; a partial first entry (the text began mid-message) is dropped. */
export function parsePostgresLog(text: string): LogEntry[] {
  const drafts: Draft[] = [];
  for (const line of text.split('\n')) {
    const head = HEAD.exec(line);
    const previous = drafts.at(-1);
    if (!head) {
      // A statement's next line (PostgreSQL writes it as is), or text before the first entry.
      if (previous && line !== '') previous.lines.push(line);
      continue;
    }
    const [, stamp = '', pid = '', user, database, level = '', message = ''] = head;
    const base = level.replace(/\d$/, '');
    if (FOLLOWERS.has(level) && previous && previous.pid === Number(pid)) {
      previous.lines.push(`${level}:  ${message}`);
      continue;
    }
    drafts.push({
      time: `${stamp.replace(' ', 'T')}Z`,
      pid: Number(pid),
      level: (LEVELS.has(base) ? base : 'LOG') as LogLevel,
      ...(user ? { user } : {}),
      ...(database ? { database } : {}),
      lines: [LEVELS.has(base) ? message : `${level}:  ${message}`],
    });
  }
  return drafts.map((draft) => {
    const text = maskSecrets(draft.lines.join('\n'));
    const duration = DURATION.exec(text);
    return {
      time: draft.time,
      pid: draft.pid,
      level: draft.level,
      ...(draft.user === undefined ? {} : { user: draft.user }),
      ...(draft.database === undefined ? {} : { database: draft.database }),
      text,
      ...(duration ? { durationMs: Number(duration[1]) } : {}),
    };
  });
}

/** The newest `tail` entries holding `search` (case ignored), oldest first. */
export function selectEntries(entries: readonly LogEntry[], request: Pick<LogsRequest, 'tail' | 'search'>): LogEntry[] {
  const needle = request.search?.toLowerCase();
  const matching = needle === undefined ? entries : entries.filter((entry) => entry.text.toLowerCase().includes(needle));
  return matching.slice(-request.tail);
}

// A string constant as PostgreSQL reads one: '…' (with '' inside), E'…' (with \' too), U&'…', or
// $tag$…$tag$; one left open runs to the end of the entry.
const QUOTED = String.raw`(?:[EeUu]&?)?'(?:[^'\\]|''|\\[\s\S])*(?:'|$)|\$(?<tag>[A-Za-z_][A-Za-z_0-9]*)?\$[\s\S]*?(?:\$\k<tag>\$|$)`;
/** CREATE/ALTER ROLE|USER … [ENCRYPTED] PASSWORD '<secret>' (a SCRAM verifier included). */
const ROLE_PASSWORD = new RegExp(String.raw`(\bPASSWORD\s+)(${QUOTED})`, 'gi');
/** A connection string's password=<secret>, quoted or not (quoted twice inside an SQL literal). */
const CONNINFO_PASSWORD = /(\bpassword\s*=\s*)(''(?:[^'\\]|\\.)*?''|'(?:[^'\\]|\\.)*'?|[^\s'"]+)/gi;
/** A URI's user:password@host. */
const URI_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)(@)/gi;

/** Where a syntax error quotes the statement: an unterminated password literal shows here first. */
const NEAR = /(at or near )"(?:[^"]|"")*"/g;

/** The text with every password a statement or connection string carried replaced by the mask. */
export function maskSecrets(text: string): string {
  const masked = /\bPASSWORD\b/i.test(text) ? text.replace(NEAR, (_all, before: string) => `${before}"${MASK}"`) : text;
  return masked
    .replace(ROLE_PASSWORD, (_all, keyword: string) => `${keyword}'${MASK}'`)
    .replace(CONNINFO_PASSWORD, (_all, keyword: string) => `${keyword}${MASK}`)
    .replace(URI_PASSWORD, (_all, before: string, _secret: string, at: string) => `${before}${MASK}${at}`);
}
