import { canTransition, JOB_STATES } from '../../queue/job-states.js';
import { LOCK, type PgDatabase } from './pg-database.js';

/**
 * The PostgreSQL schema, the same tables as the SQLite one (store/sqlite/migrations.ts) in one
 * first migration. Times the queue computes with are epoch milliseconds (BIGINT); the sync log keeps
 * ISO text like SQLite, in the "C" collation so comparing and sorting them is comparing the text.
 * JSON documents are text, exactly as they were redacted.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE sync_attempts (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     started_at TEXT COLLATE "C" NOT NULL, finished_at TEXT COLLATE "C" NOT NULL, trigger TEXT NOT NULL,
     customer_id TEXT, customer_number TEXT, requested_ref TEXT NOT NULL, collection TEXT,
     outcome TEXT NOT NULL CHECK (outcome IN ('synced','failed','skipped')),
     error_code TEXT, error_message TEXT, error_fix TEXT, retryable BOOLEAN NOT NULL DEFAULT false,
     api TEXT, model TEXT, request_json TEXT, response_json TEXT, answer_json TEXT, writes_json TEXT,
     response_id TEXT, request_id TEXT,
     input_tokens BIGINT NOT NULL DEFAULT 0, cached_tokens BIGINT NOT NULL DEFAULT 0,
     output_tokens BIGINT NOT NULL DEFAULT 0, reasoning_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION,
     load_ms DOUBLE PRECISION, openai_ms DOUBLE PRECISION, write_ms DOUBLE PRECISION, total_ms DOUBLE PRECISION NOT NULL,
     job_id BIGINT, flags TEXT, instance TEXT
   );
   CREATE INDEX sync_attempts_customer ON sync_attempts (customer_number, id);
   CREATE INDEX sync_attempts_outcome ON sync_attempts (outcome, id);
   CREATE INDEX sync_attempts_started ON sync_attempts (started_at);
   CREATE INDEX sync_attempts_finished ON sync_attempts (finished_at);
   CREATE INDEX sync_attempts_model ON sync_attempts (model, id) WHERE outcome = 'synced';
   CREATE TABLE records (
     record_key TEXT PRIMARY KEY, customer_id TEXT, customer_number TEXT,
     status TEXT NOT NULL, last_attempt_id BIGINT NOT NULL, last_error TEXT,
     attempts INTEGER NOT NULL, updated_at TEXT COLLATE "C" NOT NULL
   );
   CREATE INDEX records_status ON records (status);
   CREATE TABLE request_templates (key TEXT PRIMARY KEY, json TEXT NOT NULL);

   CREATE TABLE jobs (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     customer_id TEXT, ref TEXT NOT NULL, ref_kind TEXT NOT NULL CHECK (ref_kind IN ('number','id')),
     trigger TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
     run_after BIGINT NOT NULL, lease_owner TEXT, lease_until BIGINT,
     answer_json TEXT, last_error_code TEXT, last_error TEXT, last_error_fix TEXT, last_attempt_id BIGINT,
     coalesced INTEGER NOT NULL DEFAULT 0, run_id TEXT, event_key TEXT, batch_id TEXT,
     hold_kind TEXT CHECK (hold_kind IN ('budget','quota')), hold_reason TEXT,
     created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
   );
   CREATE INDEX jobs_ready ON jobs (state, priority DESC, run_after, id);
   CREATE INDEX jobs_customer ON jobs (customer_id, state);
   CREATE INDEX jobs_ref ON jobs (ref, state);
   CREATE INDEX jobs_run ON jobs (run_id, state);
   CREATE UNIQUE INDEX jobs_run_ref ON jobs (run_id, ref, ref_kind) WHERE run_id IS NOT NULL;
   CREATE INDEX jobs_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL;
   CREATE INDEX jobs_lease_owner ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
   CREATE TABLE customer_state (
     customer_id TEXT PRIMARY KEY, customer_number TEXT, input_fingerprint TEXT NOT NULL,
     written_json TEXT NOT NULL, last_response_id TEXT, last_written_at BIGINT NOT NULL
   );
   CREATE TABLE webhook_events (
     event_key TEXT PRIMARY KEY, delivery_id TEXT, attempt INTEGER, scope TEXT, customer_id TEXT,
     received_at BIGINT NOT NULL, job_id BIGINT, outcome TEXT NOT NULL
   );

   CREATE TABLE bulk_runs (
     id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY, mode TEXT NOT NULL CHECK (mode IN ('direct','batch')), params_json TEXT NOT NULL,
     status TEXT NOT NULL, next_page INTEGER NOT NULL DEFAULT 1, enumerated INTEGER NOT NULL DEFAULT 0, total INTEGER,
     created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, finished_at BIGINT
   );
   CREATE TABLE batches (
     id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY, run_id TEXT, input_file_id TEXT NOT NULL, status TEXT NOT NULL, lines INTEGER NOT NULL,
     output_file_id TEXT, error_file_id TEXT, applied BOOLEAN NOT NULL DEFAULT false, next_poll_at BIGINT NOT NULL DEFAULT 0,
     polls INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL
   );
   CREATE INDEX batches_run ON batches (run_id);

   CREATE TABLE pauses (kind TEXT PRIMARY KEY, reason TEXT NOT NULL, since BIGINT NOT NULL);

   -- The job state machine (queue/job-states.ts) as rows; every state-changing UPDATE checks its move here.
   CREATE TABLE job_transitions (from_state TEXT NOT NULL, to_state TEXT NOT NULL, PRIMARY KEY (from_state, to_state));`,

  // 2: one OpenAI rate budget for every instance (store/postgres/pg-rate-budget.ts): per key (OpenAI base
  // URL + model) the server-reported limits, the levels of the request and token buckets as of
  // updated_at, what was granted so far, the last starts (API Throttle Limit) and the 429 cool-down.
  // Times are the database clock in fractional epoch milliseconds.
  `CREATE TABLE rate_budgets (
     key TEXT PRIMARY KEY,
     req_limit DOUBLE PRECISION, req_window_ms DOUBLE PRECISION NOT NULL DEFAULT 60000, req_level DOUBLE PRECISION,
     tok_limit DOUBLE PRECISION, tok_window_ms DOUBLE PRECISION NOT NULL DEFAULT 60000, tok_level DOUBLE PRECISION,
     req_taken DOUBLE PRECISION NOT NULL DEFAULT 0, tok_taken DOUBLE PRECISION NOT NULL DEFAULT 0,
     synced_through DOUBLE PRECISION NOT NULL DEFAULT 0,
     starts DOUBLE PRECISION[] NOT NULL DEFAULT '{}',
     paused_until DOUBLE PRECISION NOT NULL DEFAULT 0,
     updated_at DOUBLE PRECISION NOT NULL
   );`,

  // 3: the claim walks the open jobs in claim order and stops at its limit, instead of sorting every open
  // job on each claim (3 ms a claim with 3,000 waiting; 0.2 ms with this index).
  `CREATE INDEX jobs_claimable ON jobs (priority DESC, run_after, id) WHERE state IN ('pending','calling','answered');`,

  // 4: which try of its job an attempt was, and when the queue tries again (null: the try ended the job), so
  // a failed try that will be retried is not shown or counted as a final failure.
  `ALTER TABLE sync_attempts ADD COLUMN try_number INTEGER, ADD COLUMN max_tries INTEGER, ADD COLUMN next_try_at TEXT COLLATE "C";`,

  // 5: the prompt lab: every PromptText once by its version, which each attempt names, and trial calls kept
  // apart from the sync log (a trial is never a sync).
  `ALTER TABLE sync_attempts ADD COLUMN prompt_version TEXT;
   CREATE TABLE prompt_versions (id TEXT PRIMARY KEY, text TEXT NOT NULL, first_seen BIGINT NOT NULL);
   CREATE TABLE trial_attempts (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, trial_id TEXT NOT NULL,
     variant TEXT NOT NULL CHECK (variant IN ('active','candidate')), prompt_version TEXT NOT NULL,
     started_at TEXT COLLATE "C" NOT NULL, finished_at TEXT COLLATE "C" NOT NULL, customer_id TEXT, customer_number TEXT, requested_ref TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('answered','failed','skipped')), error_code TEXT, error_message TEXT,
     api TEXT, model TEXT, request_json TEXT, response_json TEXT, answer_json TEXT, writes_json TEXT, response_id TEXT,
     input_tokens BIGINT NOT NULL DEFAULT 0, cached_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,
     reasoning_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION, total_ms DOUBLE PRECISION NOT NULL, instance TEXT
   );
   CREATE INDEX trial_attempts_trial ON trial_attempts (trial_id, id);
   CREATE INDEX trial_attempts_customer ON trial_attempts (customer_number, id);
   CREATE INDEX trial_attempts_started ON trial_attempts (started_at);`,

  // 6: review before write-back: who approved an answer (null until a person did).
  `ALTER TABLE jobs ADD COLUMN reviewed_by TEXT;
   CREATE INDEX jobs_review ON jobs (state, customer_id) WHERE state = 'review';`,

  // 7: inbound OpenAI webhooks as Message records (one per webhook-id), and who is applying an ended batch
  // (a webhook and a poller, in any instances, may both try; one claims it).
  `CREATE TABLE messages (
     webhook_id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY, message_id TEXT NOT NULL, event_type TEXT NOT NULL,
     event_id TEXT, source_id TEXT, body TEXT NOT NULL, received_at BIGINT NOT NULL,
     outcome TEXT NOT NULL DEFAULT 'received' CHECK (outcome IN ('received','applied','fallback','already-applied','unknown-batch','ignored','error')),
     detail TEXT, lines INTEGER, acted_at BIGINT, replays INTEGER NOT NULL DEFAULT 0, last_replay_at BIGINT, instance TEXT
   );
   CREATE INDEX messages_received ON messages (received_at, seq);
   CREATE INDEX messages_source ON messages (source_id);
   ALTER TABLE batches ADD COLUMN apply_owner TEXT, ADD COLUMN apply_until BIGINT;`,
];

/**
 * Brings the schema up to date and (re)fills job_transitions from the code's state machine, in one
 * transaction holding an advisory lock: of several instances starting at once, one migrates and the
 * others wait for it, then find nothing left to do.
 *
 * job_transitions is brought to the code's set with a DELETE of the moves no longer allowed and an
 * INSERT ... ON CONFLICT DO NOTHING of the allowed ones, not TRUNCATE: TRUNCATE would take an ACCESS
 * EXCLUSIVE lock that blocks every other instance's queue statements, and is not MVCC-safe. Re-running
 * it changes nothing.
 */
export async function migrate(db: PgDatabase): Promise<void> {
  const moves = JOB_STATES.flatMap((from) => JOB_STATES.filter((to) => canTransition(from, to)).map((to) => [from, to] as const));
  await db.tx(
    async (c) => {
      await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
      const done = (await c.query(`SELECT coalesce(max(version), 0) AS v FROM schema_migrations`)).rows[0].v as number;
      if (done > PG_MIGRATIONS.length) {
        throw new Error(`The PostgreSQL schema is at version ${done}, newer than this build knows (${PG_MIGRATIONS.length}); upgrade ipaas-openai on this host.`);
      }
      for (let v = done; v < PG_MIGRATIONS.length; v++) {
        await c.query(PG_MIGRATIONS[v]!);
        await c.query(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, (extract(epoch from clock_timestamp()) * 1000)::bigint)`, [v + 1]);
      }
      const from = moves.map((m) => m[0]);
      const to = moves.map((m) => m[1]);
      await c.query(
        `DELETE FROM job_transitions t WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS m(f, s) WHERE m.f = t.from_state AND m.s = t.to_state)`,
        [from, to],
      );
      await c.query(`INSERT INTO job_transitions (from_state, to_state) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [from, to]);
    },
    { lock: LOCK.migrate },
  );
}

/** SQL condition for an UPDATE of `jobs`: moving the row from its (old) state to `target` (an SQL expression) is allowed. */
export const movesTo = (target: string): string =>
  `EXISTS (SELECT 1 FROM job_transitions t WHERE t.from_state = jobs.state AND t.to_state = (${target}))`;

/** The same for statements that may leave the state as it is (lease bookkeeping): staying is not a move. */
export const staysOrMovesTo = (target: string): string => `((${target}) = jobs.state OR ${movesTo(target)})`;
