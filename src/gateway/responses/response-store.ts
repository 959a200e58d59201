import type { Db } from '../../shared/db.js';
import { randomBase62 } from '../../shared/ids.js';
import type { ResponseInputItem } from '../translate/responses-request.js';

/** An input item as it is stored and listed: with its id. */
export type StoredInputItem = ResponseInputItem & { id: string };

/** How far back a conversation of `previous_response_id` is followed. */
export const MAX_CONVERSATION_DEPTH = 256;

/**
 * Responses kept for the Responses API: one tenant never reads, follows or deletes another tenant's
 * response (every query is scoped by tenant), and a response past its retention reads as absent.
 * Storage is free: nothing here is metered.
 */
export class ResponseStore {
  constructor(
    private readonly db: Db,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async save(
    tenantId: string,
    response: Record<string, unknown> & { id: string },
    inputItems: StoredInputItem[],
    previousResponseId: string | null,
  ): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('stored_responses')
      .values({
        id: response.id,
        tenant_id: tenantId,
        previous_response_id: previousResponseId,
        response: JSON.stringify(response),
        input_items: JSON.stringify(inputItems),
        created_at: now,
        expires_at: now + this.retentionMs,
      })
      .execute();
  }

  /** The stored `response` object, or undefined when the tenant has none by that id. */
  async get(tenantId: string, id: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.row(tenantId, id, ['response']);
    return row ? (JSON.parse(row.response) as Record<string, unknown>) : undefined;
  }

  /** The input items of a response's own request, or undefined when the tenant has no such response. */
  async inputItems(tenantId: string, id: string): Promise<StoredInputItem[] | undefined> {
    const row = await this.row(tenantId, id, ['input_items']);
    return row ? (JSON.parse(row.input_items) as StoredInputItem[]) : undefined;
  }

  /** True when the tenant had such a response (now deleted). */
  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('stored_responses')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * The conversation up to and including a response, oldest first: each response's input items
   * followed by its output. Undefined when the chain is broken (a response missing, expired or
   * another tenant's) or longer than `MAX_CONVERSATION_DEPTH`.
   */
  async conversation(tenantId: string, id: string): Promise<ResponseInputItem[] | undefined> {
    const turns: ResponseInputItem[][] = [];
    let next: string | null = id;
    while (next !== null) {
      if (turns.length >= MAX_CONVERSATION_DEPTH) return undefined;
      const row: { response: string; input_items: string; previous_response_id: string | null } | undefined =
        await this.row(tenantId, next, ['response', 'input_items', 'previous_response_id']);
      if (!row) return undefined;
      const response = JSON.parse(row.response) as { output?: ResponseInputItem[] };
      const inputs = JSON.parse(row.input_items) as ResponseInputItem[];
      turns.push([...inputs, ...(Array.isArray(response.output) ? response.output : [])]);
      next = row.previous_response_id;
    }
    return turns.reverse().flat();
  }

  /** Deletes responses past their retention; returns how many. */
  async prune(batch = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await this.db
        .deleteFrom('stored_responses')
        .where('id', 'in', (eb) =>
          eb.selectFrom('stored_responses').select('id').where('expires_at', '<=', this.now()).limit(batch),
        )
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      total += n;
      if (n < batch) return total;
    }
  }

  private async row<K extends 'response' | 'input_items' | 'previous_response_id'>(
    tenantId: string,
    id: string,
    columns: K[],
  ) {
    return this.db
      .selectFrom('stored_responses')
      .select(columns)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
  }
}

const ITEM_PREFIX: Record<string, string> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  reasoning: 'rs',
};

/** Gives each input item an id, keeping ids the client sent. */
export function withItemIds(items: ResponseInputItem[]): StoredInputItem[] {
  return items.map((item) => {
    if (typeof item.id === 'string' && item.id !== '') return item as StoredInputItem;
    const type = item.type ?? 'message';
    return { ...item, type, id: `${ITEM_PREFIX[type] ?? 'item'}_${randomBase62(24)}` } as StoredInputItem;
  });
}
