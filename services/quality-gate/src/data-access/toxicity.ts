import { RegExpMatcher, englishDataset, englishRecommendedTransformers } from 'obscenity';
import type { ToxicityScorer } from '../domain/ports.ts';

/** The default scorer: the maintained English word list of `obscenity`, offline. */
export function wordListToxicity(): ToxicityScorer {
  const matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });
  return { name: 'obscenity/english', isToxic: (text) => matcher.hasMatch(text) };
}
