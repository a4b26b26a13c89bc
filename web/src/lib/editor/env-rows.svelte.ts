// An app's plain environment variables as the form edits them: rows of name and value, so a row
// can be added before it has a name and renamed without losing its place. The plan holds the
// record the rows stand for; `onchange` hands it over after every edit.

export interface EnvRow {
  name: string;
  value: string;
}

export class EnvRows {
  rows = $state<EnvRow[]>([]);
  readonly #onchange: (env: Record<string, string>) => void;

  constructor(env: Readonly<Record<string, string>>, onchange: (env: Record<string, string>) => void) {
    this.rows = Object.entries(env).map(([name, value]) => ({ name, value }));
    this.#onchange = onchange;
  }

  /** The variables the rows stand for: every named row, the first of each name. */
  get env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const row of this.rows) if (row.name !== '' && !(row.name in env)) env[row.name] = row.value;
    return env;
  }

  /** Why a row is not part of the plan, if it is not. */
  leftOut(index: number): string | undefined {
    const row = this.rows[index];
    if (row === undefined) return undefined;
    if (row.name === '') return row.value === '' ? undefined : 'Name the variable, or remove the row; a row without a name is not saved.';
    const first = this.rows.findIndex((other) => other.name === row.name);
    return first < index ? `${row.name} is set in row ${first + 1}; this row is not saved.` : undefined;
  }

  add(): void {
    this.rows.push({ name: '', value: '' });
  }

  setName(index: number, name: string): void {
    const row = this.rows[index];
    if (row === undefined) return;
    row.name = name;
    this.#onchange(this.env);
  }

  setValue(index: number, value: string): void {
    const row = this.rows[index];
    if (row === undefined) return;
    row.value = value;
    this.#onchange(this.env);
  }

  remove(index: number): void {
    this.rows.splice(index, 1);
    this.#onchange(this.env);
  }
}
