import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';

/**
 * Tasks of streamed A2A answers, kept in memory for follow-up `GetTask` calls. Scoped by tenant (the
 * call's user) and bounded: the oldest tasks are forgotten first, so memory stays flat under load.
 */
export class BoundedTaskStore implements TaskStore {
  private readonly tasks = new Map<string, { owner: string; task: Task }>();

  constructor(private readonly capacity = 1000) {}

  private static owner(context: ServerCallContext): string {
    return context.user?.userName ?? '';
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const owner = BoundedTaskStore.owner(context);
    const key = `${owner}\u0000${task.id}`;
    this.tasks.delete(key); // re-insert: most recently saved is last
    this.tasks.set(key, { owner, task: structuredClone(task) });
    while (this.tasks.size > this.capacity) {
      const oldest = this.tasks.keys().next().value;
      if (oldest === undefined) break;
      this.tasks.delete(oldest);
    }
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const entry = this.tasks.get(`${BoundedTaskStore.owner(context)}\u0000${taskId}`);
    return entry ? structuredClone(entry.task) : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const owner = BoundedTaskStore.owner(context);
    const all = [...this.tasks.values()]
      .filter((e) => e.owner === owner && (!params.contextId || e.task.contextId === params.contextId))
      .map((e) => structuredClone(e.task))
      .reverse();
    const pageSize = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
    return { tasks: all.slice(0, pageSize), nextPageToken: '', pageSize, totalSize: all.length };
  }
}
