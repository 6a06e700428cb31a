/** Ordered migrations; PRAGMA user_version records how many ran. */
export const MIGRATIONS = [
  `CREATE TABLE sync_attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     started_at TEXT NOT NULL, finished_at TEXT NOT NULL, trigger TEXT NOT NULL,
     customer_id TEXT, customer_number TEXT, requested_ref TEXT NOT NULL, collection TEXT,
     outcome TEXT NOT NULL CHECK (outcome IN ('synced','failed','skipped')),
     error_code TEXT, error_message TEXT, error_fix TEXT, retryable INTEGER NOT NULL DEFAULT 0,
     api TEXT, model TEXT, request_json TEXT, response_json TEXT, answer_json TEXT, writes_json TEXT,
     response_id TEXT, request_id TEXT,
     input_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0,
     output_tokens INTEGER NOT NULL DEFAULT 0, reasoning_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL,
     load_ms REAL, openai_ms REAL, write_ms REAL, total_ms REAL NOT NULL
   );
   CREATE INDEX sync_attempts_customer ON sync_attempts(customer_number, id);
   CREATE INDEX sync_attempts_outcome ON sync_attempts(outcome, id);
   CREATE TABLE records (
     record_key TEXT PRIMARY KEY, customer_id TEXT, customer_number TEXT,
     status TEXT NOT NULL, last_attempt_id INTEGER NOT NULL, last_error TEXT,
     attempts INTEGER NOT NULL, updated_at TEXT NOT NULL
   );
   CREATE INDEX records_status ON records(status);`,
  // The durable job queue (pending -> calling -> answered -> written), per-customer sync state for echo
  // suppression and human-edit detection, and webhook deliveries seen (duplicate detection).
  `CREATE TABLE jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     customer_id TEXT, ref TEXT NOT NULL, ref_kind TEXT NOT NULL CHECK (ref_kind IN ('number','id')),
     trigger TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
     run_after INTEGER NOT NULL, lease_owner TEXT, lease_until INTEGER,
     answer_json TEXT, last_error_code TEXT, last_error TEXT, last_error_fix TEXT, last_attempt_id INTEGER,
     coalesced INTEGER NOT NULL DEFAULT 0, run_id TEXT, event_key TEXT,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
   );
   CREATE INDEX jobs_ready ON jobs(state, priority DESC, run_after, id);
   CREATE INDEX jobs_customer ON jobs(customer_id, state);
   CREATE INDEX jobs_ref ON jobs(ref, state);
   CREATE INDEX jobs_run ON jobs(run_id, state);
   CREATE TABLE customer_state (
     customer_id TEXT PRIMARY KEY, customer_number TEXT, input_fingerprint TEXT NOT NULL,
     written_json TEXT NOT NULL, last_response_id TEXT, last_written_at INTEGER NOT NULL
   );
   CREATE TABLE webhook_events (
     event_key TEXT PRIMARY KEY, delivery_id TEXT, attempt INTEGER, scope TEXT, customer_id TEXT,
     received_at INTEGER NOT NULL, job_id INTEGER, outcome TEXT NOT NULL
   );
   ALTER TABLE sync_attempts ADD COLUMN job_id INTEGER;
   ALTER TABLE sync_attempts ADD COLUMN flags TEXT;`,
  // Bulk runs (sync --all) with their enumeration cursor, OpenAI batches, and what spend caps need.
  `CREATE TABLE bulk_runs (
     id TEXT PRIMARY KEY, mode TEXT NOT NULL CHECK (mode IN ('direct','batch')), params_json TEXT NOT NULL,
     status TEXT NOT NULL, next_page INTEGER NOT NULL DEFAULT 1, enumerated INTEGER NOT NULL DEFAULT 0, total INTEGER,
     created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER
   );
   CREATE TABLE batches (
     id TEXT PRIMARY KEY, run_id TEXT, input_file_id TEXT NOT NULL, status TEXT NOT NULL, lines INTEGER NOT NULL,
     output_file_id TEXT, error_file_id TEXT, applied INTEGER NOT NULL DEFAULT 0, next_poll_at INTEGER NOT NULL DEFAULT 0,
     polls INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
   );
   ALTER TABLE jobs ADD COLUMN batch_id TEXT;
   ALTER TABLE jobs ADD COLUMN hold_reason TEXT;
   CREATE UNIQUE INDEX jobs_run_ref ON jobs(run_id, ref, ref_kind) WHERE run_id IS NOT NULL;
   CREATE INDEX jobs_batch ON jobs(batch_id) WHERE batch_id IS NOT NULL;
   CREATE INDEX sync_attempts_started ON sync_attempts(started_at);`,
  // The static parts of requests (instructions, answer schema), stored once instead of in every attempt.
  `CREATE TABLE request_templates (key TEXT PRIMARY KEY, json TEXT NOT NULL);`,
  // A pause every process sees (the quota ran out); lifted by `retry` from any process.
  `CREATE TABLE pauses (kind TEXT PRIMARY KEY, reason TEXT NOT NULL, since INTEGER NOT NULL);`,
  // Why a job is held, as a field the queue branches on (the reason stays text for people).
  `ALTER TABLE jobs ADD COLUMN hold_kind TEXT CHECK (hold_kind IN ('budget','quota'));
   UPDATE jobs SET hold_kind = CASE WHEN hold_reason LIKE 'quota%' THEN 'quota' ELSE 'budget' END WHERE state = 'held';`,
  // Which instance ran each attempt (several may share a database's log, or a restart renames one).
  `ALTER TABLE sync_attempts ADD COLUMN instance TEXT;`,
  // Which try of its job an attempt was, and when the queue tries again (null: the try ended the job), so
  // a failed try that will be retried is not shown or counted as a final failure.
  `ALTER TABLE sync_attempts ADD COLUMN try_number INTEGER;
   ALTER TABLE sync_attempts ADD COLUMN max_tries INTEGER;
   ALTER TABLE sync_attempts ADD COLUMN next_try_at TEXT;`,
  // The prompt lab: every PromptText once by its version, which each attempt names, and trial calls kept
  // apart from the sync log (a trial is never a sync).
  `ALTER TABLE sync_attempts ADD COLUMN prompt_version TEXT;
   CREATE TABLE prompt_versions (id TEXT PRIMARY KEY, text TEXT NOT NULL, first_seen INTEGER NOT NULL);
   CREATE TABLE trial_attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT, trial_id TEXT NOT NULL,
     variant TEXT NOT NULL CHECK (variant IN ('active','candidate')), prompt_version TEXT NOT NULL,
     started_at TEXT NOT NULL, finished_at TEXT NOT NULL, customer_id TEXT, customer_number TEXT, requested_ref TEXT NOT NULL,
     outcome TEXT NOT NULL CHECK (outcome IN ('answered','failed','skipped')), error_code TEXT, error_message TEXT,
     api TEXT, model TEXT, request_json TEXT, response_json TEXT, answer_json TEXT, writes_json TEXT, response_id TEXT,
     input_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
     reasoning_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL, total_ms REAL NOT NULL, instance TEXT
   );
   CREATE INDEX trial_attempts_trial ON trial_attempts(trial_id, id);
   CREATE INDEX trial_attempts_customer ON trial_attempts(customer_number, id);
   CREATE INDEX trial_attempts_started ON trial_attempts(started_at);`,
  // Review before write-back: who approved an answer (null until a person did).
  `ALTER TABLE jobs ADD COLUMN reviewed_by TEXT;
   CREATE INDEX jobs_review ON jobs(state, customer_id) WHERE state = 'review';`,
  // This database's identity: the marker beside the file names it, so a replaced or recreated file is told apart.
  `CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   INSERT INTO store_meta (key, value) VALUES ('id', lower(hex(randomblob(16))));`,
  // Inbound OpenAI webhooks as Message records (one per webhook-id), and who is applying an ended batch
  // (a webhook and a poller may both try; one claims it).
  `CREATE TABLE messages (
     webhook_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, event_type TEXT NOT NULL, event_id TEXT, source_id TEXT,
     body TEXT NOT NULL, received_at INTEGER NOT NULL,
     outcome TEXT NOT NULL DEFAULT 'received' CHECK (outcome IN ('received','applied','fallback','already-applied','unknown-batch','ignored','error')),
     detail TEXT, lines INTEGER, acted_at INTEGER, replays INTEGER NOT NULL DEFAULT 0, last_replay_at INTEGER, instance TEXT
   );
   CREATE INDEX messages_received ON messages(received_at);
   CREATE INDEX messages_source ON messages(source_id);
   ALTER TABLE batches ADD COLUMN apply_owner TEXT;
   ALTER TABLE batches ADD COLUMN apply_until INTEGER;`,
];
