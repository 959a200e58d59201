import type { Kysely, Migration } from 'kysely';
import * as m0001 from './0001-core.js';
import * as m0002 from './0002-accounts.js';
import * as m0003 from './0003-billing.js';
import * as m0004 from './0004-webhooks.js';
import * as m0005 from './0005-usage-daily.js';
import * as m0006 from './0006-hot-query-indexes.js';
import * as m0007 from './0007-drop-duplicate-usage-index.js';
import * as m0008 from './0008-login-attempts.js';
import * as m0009 from './0009-invoiced-usage.js';
import * as m0010 from './0010-sub-micro-amounts.js';
import * as m0011 from './0011-responses.js';
import * as m0012 from './0012-cached-tokens.js';
import * as m0013 from './0013-organizations.js';
import * as m0014 from './0014-response-cache.js';
import * as m0015 from './0015-payments.js';
import * as m0016 from './0016-oauth.js';
import * as m0017 from './0017-auto-topup-version.js';
import * as m0018 from './0018-usage-attempts.js';
import * as m0019 from './0019-key-successor.js';
import type { MigrationContext } from './context.js';

interface MigrationModule {
  up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
  down?(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
}

/** Numbered migrations, applied in name order. Append new ones; never edit an applied one. */
const modules: Record<string, MigrationModule> = {
  '0001-core': m0001,
  '0002-accounts': m0002,
  '0003-billing': m0003,
  '0004-webhooks': m0004,
  '0005-usage-daily': m0005,
  '0006-hot-query-indexes': m0006,
  '0007-drop-duplicate-usage-index': m0007,
  '0008-login-attempts': m0008,
  '0009-invoiced-usage': m0009,
  '0010-sub-micro-amounts': m0010,
  '0011-responses': m0011,
  '0012-cached-tokens': m0012,
  '0013-organizations': m0013,
  '0014-response-cache': m0014,
  '0015-payments': m0015,
  '0016-oauth': m0016,
  '0017-auto-topup-version': m0017,
  '0018-usage-attempts': m0018,
  '0019-key-successor': m0019,
};

export function migrationsFor(ctx: MigrationContext): Record<string, Migration> {
  return Object.fromEntries(
    Object.entries(modules).map(([name, m]) => [
      name,
      {
        up: (db: Kysely<unknown>) => m.up(db, ctx),
        down: m.down ? (db: Kysely<unknown>) => m.down!(db, ctx) : undefined,
      },
    ]),
  );
}
