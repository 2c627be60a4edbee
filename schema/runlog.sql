-- sdflow run log: schema version 2 (PRAGMA user_version = 2).
-- Single source: core/runlog/runlog_schema.c embeds this text (scripts/regen-schema.sh);
-- test_runlog fails when the two differ. A new database gets this whole text; an older one
-- is brought up to date by the numbered migrations in runlog.c (2: runs.runtime_options).

-- One row per run: written as 'running' at start, updated at the end, so a killed process
-- leaves evidence; the next sdflow start marks a dead process's row 'interrupted'.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    sweep_id      TEXT,                 -- common to the runs of one --sweep
    started_utc   TEXT NOT NULL,        -- ISO 8601, UTC, milliseconds
    ended_utc     TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed',
                                                  'interrupted')),
    source_path   TEXT,                 -- the file given on the command line
    source_format TEXT,                 -- json-api, json-ui, png-prompt, png-workflow
    workflow_text TEXT,                 -- the workflow as given (API text, or UI text)
    workflow_ui   TEXT,                 -- original UI workflow (re-embedded by replay), or NULL
    api_json      TEXT NOT NULL,        -- canonical API JSON that was executed
    api_sha256    TEXT NOT NULL,
    overrides     TEXT,                 -- JSON array of "ID.INPUT=VALUE"
    only_targets  TEXT,                 -- JSON array of --only ids, or NULL
    tags          TEXT,                 -- JSON array
    note          TEXT,
    version       TEXT,
    git_rev       TEXT,
    host          TEXT,
    pid           INTEGER,
    proc_start    INTEGER,              -- /proc/<pid>/stat starttime: tells pid reuse apart
    threads       INTEGER,
    gemm_core     TEXT,                 -- OpenBLAS core name (openblas_get_corename)
    error         TEXT,
    error_node    TEXT,
    diagnostics   TEXT,                 -- validation problems and warnings, JSON
    runtime_options TEXT                -- JSON {models_dirs, input_dir, output_dir,
                                        --   clip_vocab_dir, fp32_text_enc}; NULL before v2
) STRICT;
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_hash ON runs (api_sha256);

-- One row per node the run needed: executed, taken from the cache, failed or skipped.
CREATE TABLE node_execs (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    node_id     TEXT NOT NULL,
    class_type  TEXT NOT NULL,
    status      TEXT NOT NULL,          -- executed, cached, failed, skipped, cancelled, pending
    cached      INTEGER NOT NULL,       -- 1 when the outputs came from the cache
    started_utc TEXT,
    start_ms    REAL,                   -- since the run started (monotonic clock)
    duration_ms REAL,
    worker      INTEGER,
    output_key  TEXT,                   -- cache key (sha256 hex)
    error       TEXT,
    PRIMARY KEY (run_id, node_id)
) STRICT;

-- The literal inputs each node ran with. An INT above 2^63-1 (a u64 seed) is stored as TEXT.
CREATE TABLE node_inputs (
    run_id  INTEGER NOT NULL REFERENCES runs (id),
    node_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    value   ANY,
    PRIMARY KEY (run_id, node_id, name)
) STRICT;

-- Files nodes read (checkpoints, LoRAs, images), with their content hash.
CREATE TABLE input_files (
    run_id   INTEGER NOT NULL REFERENCES runs (id),
    node_id  TEXT NOT NULL,
    role     TEXT,
    path     TEXT NOT NULL,
    size     INTEGER,
    mtime_ns INTEGER,
    sha256   TEXT
) STRICT;

-- Files nodes wrote.
CREATE TABLE outputs (
    run_id  INTEGER NOT NULL REFERENCES runs (id),
    node_id TEXT NOT NULL,
    path    TEXT NOT NULL,
    sha256  TEXT,
    width   INTEGER,
    height  INTEGER
) STRICT;

-- Free-form facts nodes report (warnings, LoRA key statistics, ...).
CREATE TABLE notes (
    run_id  INTEGER NOT NULL REFERENCES runs (id),
    node_id TEXT,
    key     TEXT NOT NULL,
    value   TEXT
) STRICT;

-- sha256 of files, remembered by path + size + mtime so each file is hashed once.
CREATE TABLE file_hashes (
    path       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    hashed_utc TEXT NOT NULL,
    PRIMARY KEY (path, size, mtime_ns)
) STRICT;
