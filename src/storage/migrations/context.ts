import type { ColumnDefinitionBuilder } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** What a migration may need to know about the database it runs on. */
export interface MigrationContext {
  dialect: Dialect;
}

/** An auto-incrementing primary key on both dialects (SQLite's rowid alias, PostgreSQL's bigserial). */
export const autoIncrementId = (ctx: MigrationContext) => (c: ColumnDefinitionBuilder) =>
  ctx.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement();
