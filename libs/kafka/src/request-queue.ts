// A static import, so that bundles (the CLI's) carry the module too.
import RequestQueueClass from 'kafkajs/src/network/requestQueue/index.js';

/**
 * kafkajs 2.2.4 (its last release) re-arms a timer on every broker connection as soon as a request
 * is answered: with nothing pending and no throttling, `scheduleCheckPendingRequests` computes a
 * negative delay, Node runs it after 1 ms, and the check schedules itself again, for as long as the
 * connection lives (kafkajs issues #1704 and #1751). An idle client with three connections cost
 * 3.7 % of a core instead of 0.2 %, and Node 24 prints a TimeoutNegativeWarning for it. Pending
 * requests are checked when a request is answered anyway, so with nothing pending and no throttle
 * there is nothing to schedule; with a throttle or pending requests, the library's own method runs.
 */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  scheduleCheckPendingRequests: (this: RequestQueue) => void;
}

const queue = (RequestQueueClass as { prototype: RequestQueue }).prototype;
const original = queue.scheduleCheckPendingRequests;

queue.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue) {
  if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
  original.call(this);
};
