import { canTransition, JOB_STATES } from '../../queue/job-states.js';
import type { SqliteDatabase } from './sqlite-database.js';

/**
 * The job state machine (queue/job-states.ts) as a table every connection holds, so that each
 * state-changing statement checks its move in SQL: a move the machine forbids changes no row,
 * whichever code path tries it.
 */
export function installTransitions(db: SqliteDatabase): void {
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS job_transitions (from_state TEXT NOT NULL, to_state TEXT NOT NULL, PRIMARY KEY (from_state, to_state)) WITHOUT ROWID;
    DELETE FROM temp.job_transitions;`);
  const add = db.prepare('INSERT INTO temp.job_transitions (from_state, to_state) VALUES (?, ?)');
  for (const from of JOB_STATES) for (const to of JOB_STATES) if (canTransition(from, to)) add.run(from, to);
}

/** SQL condition for an UPDATE of `jobs`: moving the row from its state to `target` (an SQL expression) is allowed. */
export const movesTo = (target: string): string =>
  `EXISTS (SELECT 1 FROM temp.job_transitions t WHERE t.from_state = jobs.state AND t.to_state = (${target}))`;

/** The same for statements that may leave the state as it is (lease bookkeeping): staying is not a move. */
export const staysOrMovesTo = (target: string): string => `((${target}) = jobs.state OR ${movesTo(target)})`;
