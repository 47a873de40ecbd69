import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allEvents, deadLetterTopic } from '../src/index.ts';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const SERVICES = ['ingestor', 'preprocessor', 'quality-gate', 'publisher', 'notifier', 'retrain-policy'];

interface TopicEntry {
  consumers?: string[];
  planned?: string[];
}
const catalog = parse(read('deploy/topics.yaml')) as { topics: Record<string, TopicEntry> };
const docs = read('docs/events.md');

function handlerFile(service: string, topic: string): URL {
  return new URL(
    `services/${service}/src/entry-points/kafka/handlers/${topic.replaceAll('.', '-')}.handler.ts`,
    root,
  );
}

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
          expect(existsSync(handlerFile(consumer, topic)), `${consumer} has a handler for ${topic}`).toBe(
            true,
          );
        } else {
          expect(consumer, 'a consumer that is not one of our services is marked external').toMatch(
            /\(external\)$/,
          );
        }
      }
    },
  );

  it('when a service has a handler, then the catalog names the service as a consumer of its topic', () => {
    for (const service of SERVICES) {
      const dir = new URL(`services/${service}/src/entry-points/kafka/handlers/`, root);
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.handler.ts'))) {
        if (file === 'dead-letter.handler.ts') {
          // One handler for the dead-letter topics of other services: the catalog names which.
          const watched = Object.keys(catalog.topics).filter(
            (t) => t.startsWith('dlq.') && catalog.topics[t]!.consumers?.includes(service),
          );
          expect(watched.length, `${service} consumes some dead-letter topic`).toBeGreaterThan(0);
          expect(watched, 'no service announces its own dead letters').not.toContain(
            deadLetterTopic(service),
          );
          continue;
        }
        const topic = file.replace('.handler.ts', '').replace('-', '.');
        expect(catalog.topics[topic]?.consumers ?? [], `${service} handles ${topic}`).toContain(service);
      }
    }
  });

  it('when the catalog names a service as consumer of a dead-letter topic, then it has the handler', () => {
    for (const [topic, entry] of Object.entries(catalog.topics).filter(([t]) => t.startsWith('dlq.'))) {
      for (const consumer of (entry.consumers ?? []).filter((c) => SERVICES.includes(c))) {
        const file = new URL(
          `services/${consumer}/src/entry-points/kafka/handlers/dead-letter.handler.ts`,
          root,
        );
        expect(existsSync(file), `${consumer} has a dead-letter handler for ${topic}`).toBe(true);
      }
    }
  });

  it('when a service consumes anything, then its dead-letter topic is in the catalog', () => {
    for (const service of SERVICES) expect(catalog.topics[deadLetterTopic(service)]).toBeDefined();
  });
});
