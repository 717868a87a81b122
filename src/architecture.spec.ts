import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..');
const SRC = join(ROOT, 'src');
const rel = (file: string) => relative(ROOT, file);

/** Infrastructure that names every entity: the data source registers them, migrations create them. */
const INFRASTRUCTURE = [/^src\/database\//, /^src\/app\.module\.ts$/];

interface Ownership {
  table: string;
  owner: string;
  module: string;
}

/** The table of docs/architecture.md: | `table` | `src/…service.ts` | Module |. */
function ownershipTable(): Ownership[] {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Table ownership'));
  if (!section) throw new Error('docs/architecture.md has no "## Table ownership" section');
  return [...section.matchAll(/^\| `([a-z_]+)` \| `(src\/[^`]+)` \| (\w+) \|$/gm)].map(([, table, owner, module]) => ({ table, owner, module }));
}

/** The "Joined reads" list of docs/architecture.md: | `src/…` | `table`, `table` | why |. */
function joinedReads(): Map<string, string[]> {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.split(/^### /m).find((s) => s.startsWith('Joined reads')) ?? '';
  return new Map([...section.matchAll(/^\| `(src\/[^`]+)` \| ([^|]+) \|/gm)].map(([, file, tables]) => [file, [...tables.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])]));
}

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

interface Import {
  /** A resolved path relative to the repository, without extension, or a package name. */
  target: string;
  /** The names imported for use at run time (not `import type`); '*' for a namespace import. */
  values: string[];
}

function importsOf(file: string, source: ts.SourceFile): Import[] {
  return source.statements.filter(ts.isImportDeclaration).map((declaration) => {
    const specifier = (declaration.moduleSpecifier as ts.StringLiteral).text;
    const clause = declaration.importClause;
    const values: string[] = [];
    if (!clause) values.push('*');
    else if (!clause.isTypeOnly) {
      if (clause.name) values.push('default');
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) values.push('*');
      if (bindings && ts.isNamedImports(bindings)) values.push(...bindings.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text));
    }
    const target = specifier.startsWith('.') ? rel(resolve(dirname(file), specifier)) : specifier;
    return { target, values };
  });
}

/** Source text without comments, so that a comment naming a table is not mistaken for SQL. */
function codeOf(source: ts.SourceFile): string {
  const printer = ts.createPrinter({ removeComments: true });
  return printer.printFile(source);
}

describe('Architecture: one owner per table (docs/architecture.md)', () => {
  const owners = ownershipTable();
  const files = sourceFiles().map((path) => {
    const text = readFileSync(path, 'utf8');
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    return { path: rel(path), text, source, imports: importsOf(path, source) };
  });
  const entities = files.flatMap((f) => {
    const match = /@Entity\('([a-z_]+)'\)[^]*?export class (\w+)/.exec(f.text);
    return match ? [{ file: f.path, table: match[1], entityClass: match[2] }] : [];
  });
  const ownerOf = (table: string) => owners.find((o) => o.table === table);
  const isInfrastructure = (path: string) => INFRASTRUCTURE.some((pattern) => pattern.test(path));

  it('reads the ownership table', () => {
    expect(owners.length).toBeGreaterThanOrEqual(entities.length);
  });

  it('gives every table one owner, a service in the folder of its entity', () => {
    for (const { file, table } of entities) {
      const owner = ownerOf(table);
      expect({ table, owner: owner?.owner }).toEqual({ table, owner: expect.stringMatching(new RegExp(`^${dirname(file)}/[^/]+\\.service\\.ts$`)) });
      expect(files.some((f) => f.path === owner!.owner)).toBe(true);
    }
    expect(new Set(owners.map((o) => o.table)).size).toBe(owners.length);
  });

  it('lets only the owner (and its module, for the repository) import an entity class for use, not just its type', () => {
    const violations: string[] = [];
    for (const file of files) {
      if (isInfrastructure(file.path)) continue;
      for (const { target, values } of file.imports) {
        const entity = entities.find((e) => e.file === `${target}.ts`);
        if (!entity || file.path === entity.file || !values.some((v) => v === entity.entityClass || v === '*')) continue;
        const owner = ownerOf(entity.table)!.owner;
        const moduleFile = file.path.endsWith('.module.ts') && dirname(file.path) === dirname(owner);
        if (file.path !== owner && !moduleFile) violations.push(`${file.path} imports ${entity.file} (${entity.table} belongs to ${owner})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps repositories, data sources and query builders in the owning services', () => {
    const ownerFiles = new Set(owners.map((o) => o.owner));
    const violations = files
      .filter((f) => !isInfrastructure(f.path) && !entities.some((e) => e.file === f.path) && !f.path.endsWith('.module.ts') && !ownerFiles.has(f.path))
      .filter((f) => f.imports.some((i) => i.values.length > 0 && (i.target === 'typeorm' || i.target === '@nestjs/typeorm')))
      .map((f) => f.path);
    expect(violations).toEqual([]);
  });

  it('names a table in SQL only in its owner, or in a joined read that docs/architecture.md lists', () => {
    const joined = joinedReads();
    expect(joined.get('src/tokens/refresh-tokens.service.ts')).toEqual(['token_families', 'users']);
    const violations: string[] = [];
    for (const file of files) {
      if (isInfrastructure(file.path)) continue;
      const code = codeOf(file.source);
      for (const { table, owner } of owners) {
        if (file.path === owner || joined.get(file.path)?.includes(table)) continue;
        if (new RegExp(`\\b(FROM|JOIN|INTO|UPDATE|TABLE)\\s+[\`"']?${table}\\b`, 'i').test(code)) violations.push(`${file.path} names ${table}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
