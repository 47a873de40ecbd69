import { datasetPublished } from '@tributary/events';
import { defineHandler } from '@tributary/kafka';
import { notifyPublished } from '../../../domain/notify-published.ts';
import type { NotifyPorts } from '../../../domain/ports.ts';

/** Tells the evaluation leads (Slack + email) that a dataset version was published. */
export function datasetPublishedHandler(ports: NotifyPorts) {
  return defineHandler({
    event: datasetPublished,
    handle: (published) => notifyPublished(published, ports),
  });
}
