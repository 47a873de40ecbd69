/** A task of the refresh failed for a reason that retrying will not change. */
export class TaskFailure extends Error {
  readonly task: string;
  constructor(task: string, message: string) {
    super(message);
    this.task = task;
  }
}
