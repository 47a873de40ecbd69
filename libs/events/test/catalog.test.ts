import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { manifest as ingestor } from '../../../services/ingestor/src/manifest.ts';
import { manifest as notifier } from '../../../services/notifier/src/manifest.ts';
import { manifest as preprocessor } from '../../../services/preprocessor/src/manifest.ts';
import { manifest as publisher } from '../../../services/publisher/src/manifest.ts';
import { manifest as qualityGate } from '../../../services/quality-gate/src/manifest.ts';
import { manifest as retrainPolicy } from '../../../services/retrain-policy/src/manifest.ts';
import { allEvents, deadLetterTopic } from '../src/index.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
/** Each service's manifest (src/manifest.ts): what it consumes and publishes. */
const manifests = new Map(
  [ingestor, preprocessor, qualityGate, publisher, notifier, retrainPolicy].map((m) => [m.name, m]),
);
const SERVICES = [...manifests.keys()];
const consumed = (service: string) => manifests.get(service)!.consumes.map((e) => e.topic);

interface TopicEntry {
  consumers?: string[];
  planned?: string[];
  producer?: string;
}
const catalog = parse(read('deploy/topics.yaml')) as { topics: Record<string, TopicEntry> };
const docs = read('docs/events.md');

describe('event catalog', () => {
  it.each(allEvents.map((e) => [e.topic]))(
    'when %s is looked up, then it has a deploy topic, a docs entry and an implemented consumer',
    (topic) => {
      const entry = catalog.topics[topic];
      expect(entry, `deploy/topics.yaml lists ${topic}`).toBeDefined();
      expect(docs).toContain(`\n## ${topic}\n`);
      const consumers = entry!.consumers ?? [];
      expect(consumers.length, `${topic} has a consumer`).toBeGreaterThan(0);
      for (const consumer of consumers) {
        if (SERVICES.includes(consumer)) {
          expect(consumed(consumer), `${consumer}'s manifest consumes ${topic}`).toContain(topic);
        } else {
          expect(consumer, 'a consumer that is not one of our services is marked external').toMatch(
            /\(external\)$/,
          );
        }
      }
    },
  );

  it("when a service's manifest consumes a topic, then the catalog names the service as its consumer", () => {
    for (const service of SERVICES) {
      for (const topic of consumed(service)) {
        expect(catalog.topics[topic]?.consumers ?? [], `${service} consumes ${topic}`).toContain(service);
      }
    }
  });

  it("when a service's manifest relays an event from its outbox, then the catalog names the service as its producer", () => {
    for (const [service, manifest] of manifests) {
      for (const { topic } of manifest.outbox) {
        expect(catalog.topics[topic]?.producer ?? '', `${service} produces ${topic}`).toContain(service);
      }
    }
  });

  it('when the catalog names a service as consumer of a dead-letter topic, then its manifest consumes dead letters', () => {
    for (const service of SERVICES) {
      const watched = Object.keys(catalog.topics).filter(
        (t) => t.startsWith('dlq.') && catalog.topics[t]!.consumers?.includes(service),
      );
      expect(watched.length > 0, `${service} consumes some dead-letter topic`).toBe(
        manifests.get(service)!.consumesDeadLetters,
      );
      expect(watched, 'no service announces its own dead letters').not.toContain(deadLetterTopic(service));
    }
  });

  it('when a service consumes anything, then its dead-letter topic is in the catalog', () => {
    for (const service of SERVICES) expect(catalog.topics[deadLetterTopic(service)]).toBeDefined();
  });
});
