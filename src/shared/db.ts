import type { Kysely } from 'kysely';
import type { Database } from '../storage/tables.js';

/** The query builder over the platform's tables; the same type on SQLite and PostgreSQL. */
export type Db = Kysely<Database>;
