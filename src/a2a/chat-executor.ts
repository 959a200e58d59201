import { randomUUID } from 'node:crypto';
import { type Message, type Part, Role, TaskState } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { answerText, type ChatChunk, contentDelta } from '../gateway/chat-chunks.js';
import type { ChatCompletionRequest } from '../gateway/chat-schema.js';
import { type ChatCall, type ChunkSink, midStreamFailure } from '../gateway/inference-call.js';
import type { SurfaceDeps } from '../gateway/inference-pipeline.js';
import { ApiError } from '../shared/errors.js';
import { TenantUser } from './tenant-user.js';

/** State key the transport sets when the client asked for a stream (`SendStreamingMessage`). */
export const STREAMING_STATE_KEY = 'simo.streaming';

const textPart = (text: string): Part => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});

function agentMessage(ctx: RequestContext, text: string, taskId = ''): Message {
  return {
    messageId: randomUUID(),
    contextId: ctx.contextId,
    taskId,
    role: Role.ROLE_AGENT,
    parts: [textPart(text)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The text of the user's message; non-text parts are not understood by a chat model. */
function userText(ctx: RequestContext): string {
  return ctx.userMessage.parts
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .filter(Boolean)
    .join('\n');
}

const now = () => new Date().toISOString();

/**
 * Answers each A2A message with the tenant's default chat model (the first chat model it may use),
 * through the same pipeline as `/v1/chat/completions`: metered, routed with fallback, billed.
 * A plain send gets one agent message back; a streaming send gets a task whose answer artifact grows
 * chunk by chunk as the model generates it.
 */
export class ChatAgentExecutor implements AgentExecutor {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: Pick<SurfaceDeps, 'pipeline' | 'catalog'>) {}

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const user = ctx.context.user;
    if (!(user instanceof TenantUser)) throw new Error('A2A call without an authenticated tenant');
    const streaming = ctx.context.state.get(STREAMING_STATE_KEY) === true;
    const controller = new AbortController();
    this.running.set(ctx.taskId, controller);
    const signal = AbortSignal.any([user.signal, controller.signal]);
    const progress = { taskPublished: false };
    try {
      const model = this.deps.catalog.forTenant(user.auth.tenant).find((m) => m.kind === 'chat');
      if (!model) throw new ApiError('model_not_found', 'This account has no chat model.', 'model');
      const text = userText(ctx);
      if (!text) throw new ApiError('invalid_parameter', 'Send at least one text part.', 'message.parts');
      const body: ChatCompletionRequest = { model: model.id, messages: [{ role: 'user', content: text }] };
      const call: ChatCall = {
        auth: user.auth,
        body,
        requestId: user.requestId,
        signal,
        startedAt: user.startedAt,
        counted: user.counted,
      };
      if (!streaming) {
        const answer = await this.deps.pipeline.complete(call);
        bus.publish(AgentEvent.message(agentMessage(ctx, answerText(answer.body))));
        return;
      }
      await this.stream(ctx, bus, call, progress);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Expected refusals (no credit, unknown model, upstream down) are told to the caller as text.
      const text = `${err.code}: ${err.message}`;
      if (!streaming) bus.publish(AgentEvent.message(agentMessage(ctx, text)));
      else this.fail(ctx, bus, text, progress.taskPublished);
    } finally {
      this.running.delete(ctx.taskId);
      bus.finished();
    }
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    this.running.get(taskId)?.abort(new Error('canceled'));
    void bus; // the stream loop publishes the final state when it notices the abort
  }

  /**
   * Relays the answer as a task whose `answer` artifact grows delta by delta; the task is published
   * once the model has started answering, so a refusal before that is a failed task of its own.
   */
  private async stream(
    ctx: RequestContext,
    bus: ExecutionEventBus,
    call: ChatCall,
    progress: { taskPublished: boolean },
  ) {
    const { taskId, contextId } = ctx;
    let first = true;
    const sink: ChunkSink = {
      open() {
        bus.publish(
          AgentEvent.task({
            id: taskId,
            contextId,
            status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: now() },
            artifacts: [],
            history: [ctx.userMessage],
            metadata: undefined,
          }),
        );
        progress.taskPublished = true;
      },
      chunk(chunk: ChatChunk) {
        const delta = contentDelta(chunk);
        if (!delta) return;
        bus.publish(
          AgentEvent.artifactUpdate({
            taskId,
            contextId,
            artifact: {
              artifactId: 'answer',
              name: 'answer',
              description: 'The model’s answer',
              parts: [textPart(delta)],
              metadata: undefined,
              extensions: [],
            },
            append: !first,
            lastChunk: false,
            metadata: undefined,
          }),
        );
        first = false;
      },
      failed() {},
    };
    const summary = await this.deps.pipeline.stream(call, sink);
    if (summary.upstreamFailed) throw midStreamFailure();
    const canceled = this.running.get(taskId)?.signal.aborted === true;
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: {
          state: canceled ? TaskState.TASK_STATE_CANCELED : TaskState.TASK_STATE_COMPLETED,
          message: undefined,
          timestamp: now(),
        },
        metadata: undefined,
      }),
    );
  }

  /** Ends a streamed task as failed, with the reason as the status message. */
  private fail(ctx: RequestContext, bus: ExecutionEventBus, text: string, taskPublished: boolean) {
    const status = {
      state: TaskState.TASK_STATE_FAILED,
      message: agentMessage(ctx, text, ctx.taskId),
      timestamp: now(),
    };
    if (taskPublished) {
      bus.publish(
        AgentEvent.statusUpdate({
          taskId: ctx.taskId,
          contextId: ctx.contextId,
          status,
          metadata: undefined,
        }),
      );
      return;
    }
    bus.publish(
      AgentEvent.task({
        id: ctx.taskId,
        contextId: ctx.contextId,
        status,
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      }),
    );
  }
}
