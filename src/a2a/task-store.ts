import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';

export interface TaskStoreLimits {
  /** Tasks kept per tenant; a tenant's oldest task is forgotten first. */
  perTenant: number;
  /** Tasks kept in all; past it, the tenant holding the most tasks loses its oldest. */
  total: number;
}

/**
 * Tasks of streamed A2A answers, kept in memory for follow-up `GetTask` calls. Scoped by tenant (the
 * call's user) and bounded per tenant, so one tenant's traffic only ever evicts its own tasks; a
 * global bound keeps memory flat, and when it is reached the largest tenant gives way first.
 */
export class BoundedTaskStore implements TaskStore {
  /** Per tenant, task id → task, oldest saved first. */
  private readonly byTenant = new Map<string, Map<string, Task>>();
  private size = 0;

  constructor(private readonly limits: TaskStoreLimits = { perTenant: 1000, total: 100_000 }) {}

  private static owner(context: ServerCallContext): string {
    return context.user?.userName ?? '';
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const owner = BoundedTaskStore.owner(context);
    let tasks = this.byTenant.get(owner);
    if (!tasks) {
      tasks = new Map();
      this.byTenant.set(owner, tasks);
    }
    if (tasks.delete(task.id)) this.size--; // re-insert: most recently saved is last
    tasks.set(task.id, structuredClone(task));
    this.size++;
    while (tasks.size > this.limits.perTenant) this.evictOldest(owner, tasks);
    while (this.size > this.limits.total) {
      const [largest, theirs] = this.largestTenant();
      if (!theirs) break;
      this.evictOldest(largest, theirs);
    }
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const task = this.byTenant.get(BoundedTaskStore.owner(context))?.get(taskId);
    return task ? structuredClone(task) : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const tasks = this.byTenant.get(BoundedTaskStore.owner(context)) ?? new Map<string, Task>();
    const all = [...tasks.values()]
      .filter((t) => !params.contextId || t.contextId === params.contextId)
      .map((t) => structuredClone(t))
      .reverse();
    const pageSize = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
    return { tasks: all.slice(0, pageSize), nextPageToken: '', pageSize, totalSize: all.length };
  }

  private evictOldest(owner: string, tasks: Map<string, Task>): void {
    const oldest = tasks.keys().next().value;
    if (oldest === undefined) return;
    tasks.delete(oldest);
    this.size--;
    if (tasks.size === 0) this.byTenant.delete(owner);
  }

  /** Only called once the global bound is reached; a scan over tenants is cheap next to the tasks. */
  private largestTenant(): [string, Map<string, Task> | undefined] {
    let best: [string, Map<string, Task> | undefined] = ['', undefined];
    for (const entry of this.byTenant) if (!best[1] || entry[1].size > best[1].size) best = entry;
    return best;
  }
}
