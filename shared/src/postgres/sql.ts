// Quoting for SQL text CloudSeed builds itself (role, database and table names from a plan or a
// catalog, settings in postgresql.conf). One definition for every path that writes SQL.

/** `"name"`, with embedded double quotes doubled: safe for any identifier, whatever its case or characters. */
export const quoteIdentifier = (value: string): string => `"${value.replaceAll('"', '""')}"`;

/** `'text'`, with embedded single quotes doubled (standard_conforming_strings is on in every supported major). */
export const quoteLiteral = (value: string): string => `'${value.replaceAll("'", "''")}'`;
