import {
  deadLetterServices,
  listDeadLetters,
  replayDeadLetters,
  type DeadLetterConnection,
  type DeadLetterView,
  type ReplayResult,
} from '@tributary/kafka';

/** A dead letter as the console lists it: its service and what `tributary dlq list` shows. */
export interface ListedDeadLetter extends DeadLetterView {
  service: string;
}

/**
 * The services' dead-letter topics (`dlq.<service>`), read and replayed with the same code as
 * `tributary dlq`: the list holds the dead letters not replayed yet.
 */
export class DeadLetterBox {
  private readonly conn: DeadLetterConnection;
  private readonly self: string;
  constructor(conn: DeadLetterConnection, self: string) {
    this.conn = conn;
    this.self = self;
  }

  /** The services that have a dead-letter topic on the cluster (the console's own is left out). */
  async services(): Promise<string[]> {
    return (await deadLetterServices(this.conn)).filter((s) => s !== this.self);
  }

  async list(service?: string): Promise<ListedDeadLetter[]> {
    const services = service === undefined ? await this.services() : [service];
    const lists = await Promise.all(
      services.map(async (s) => {
        const { records } = await listDeadLetters(this.conn, { service: s });
        return records.filter((r) => r.replays.length === 0).map((r) => ({ ...r, service: s }));
      }),
    );
    return lists.flat();
  }

  async replay(service: string, at: string, actor: string): Promise<ReplayResult[]> {
    return replayDeadLetters(this.conn, { service, offset: [at], replayedBy: actor });
  }
}
