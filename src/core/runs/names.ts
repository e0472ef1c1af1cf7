/** The learned model's key among a run's results (baselines use theirs: random, frequency, markov, temporal). */
export const MODEL_NAME = 'interlayer';
