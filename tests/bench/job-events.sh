#!/usr/bin/env bash
# What writing the job events in the outbox's code costs PostgreSQL, against the trigger that
# wrote them before (migration 000013): pgbench runs an email job's SQL, claim then mark, over 10
# connections (a worker's pool), once as the trigger had it (two statements, the trigger writing
# the events) and once as platform::outbox sends it now on PostgreSQL (each change one statement,
# the UPDATE in a WITH beside its events' INSERT). Same table sizes, same run, one after the other; prints both rates and their
# ratio. Needs PostgreSQL at 127.0.0.1:5432 (user postgres) and pgbench.
#
#   bash tests/bench/job-events.sh
set -euo pipefail
db=bench_job_events_$$
psql() { command psql -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql -c "CREATE DATABASE $db" >/dev/null
trap 'psql -c "DROP DATABASE $db" >/dev/null' EXIT
psql -d "$db" >/dev/null <<'SQL'
CREATE TABLE job_event (id bigserial PRIMARY KEY, outbox_id uuid NOT NULL, offboarding_id uuid NOT NULL,
  status varchar(16) NOT NULL, attempts integer NOT NULL, last_error text, created_at timestamptz NOT NULL);
CREATE INDEX ix_job_event_offboarding ON job_event (offboarding_id, id);
CREATE INDEX ix_job_event_outbox ON job_event (outbox_id, id);
CREATE TABLE by_trigger (id uuid PRIMARY KEY, offboarding_id uuid NOT NULL, status varchar(16) NOT NULL,
  attempts integer NOT NULL, last_error text, available_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL, completed_at timestamptz, seq integer UNIQUE NOT NULL);
CREATE TABLE by_code (LIKE by_trigger INCLUDING ALL);
INSERT INTO by_trigger SELECT gen_random_uuid(), gen_random_uuid(), 'PENDING', 0, NULL, now(), now(), NULL, n
  FROM generate_series(1, 100000) n;
INSERT INTO by_code SELECT * FROM by_trigger;
INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, created_at)
  SELECT id, offboarding_id, status, attempts, updated_at FROM by_trigger;
CREATE FUNCTION record_job_event() RETURNS trigger AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status OR NEW.attempts IS DISTINCT FROM OLD.attempts THEN
    INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at)
    VALUES (NEW.id, NEW.offboarding_id, NEW.status, NEW.attempts, NEW.last_error, NEW.updated_at);
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER by_trigger_job_event AFTER UPDATE ON by_trigger FOR EACH ROW EXECUTE FUNCTION record_job_event();
ANALYZE;
SQL
# A claim and a mark each change the row's state, so each row gets its event with nothing to
# look up (platform::outbox's Events::EveryRow).
events="INSERT INTO job_event (outbox_id, offboarding_id, status, attempts, last_error, created_at)
 SELECT c.id, c.offboarding_id, c.status, c.attempts, c.last_error, c.updated_at FROM changed c ORDER BY c.id"
scripts=$(mktemp -d)
# Each job is run again and again: its status goes PENDING -> SUCCEEDED -> PENDING, so each
# claim and each mark changes the row and writes an event, as a real job's do.
cat > "$scripts/trigger.sql" <<SQL
\\set n random(1, 100000)
UPDATE by_trigger SET available_at = now(), attempts = attempts + 1 WHERE seq = :n RETURNING *;
UPDATE by_trigger SET status = CASE status WHEN 'PENDING' THEN 'SUCCEEDED' ELSE 'PENDING' END, last_error = NULL, updated_at = now(), completed_at = now() WHERE seq = :n;
SQL
# As platform::outbox sends them on PostgreSQL: the UPDATE in a WITH, its events beside it.
cat > "$scripts/code.sql" <<SQL
\\set n random(1, 100000)
WITH changed AS (UPDATE by_code SET available_at = now(), attempts = attempts + 1 WHERE seq = :n RETURNING *), recorded AS ($events) SELECT * FROM changed;
WITH changed AS (UPDATE by_code SET status = CASE status WHEN 'PENDING' THEN 'SUCCEEDED' ELSE 'PENDING' END, last_error = NULL, updated_at = now(), completed_at = now() WHERE seq = :n RETURNING *), recorded AS ($events) SELECT * FROM changed;
SQL
rate() { pgbench -n -h 127.0.0.1 -U postgres -c 10 -j 2 -T "${SECONDS_EACH:-10}" -f "$scripts/$1.sql" "$db" \
  | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
trigger=$(rate trigger)
code=$(rate code)
again=$(rate trigger)
echo "jobs/s, an email job's claim and mark: trigger $trigger, code $code, trigger again $again"
awk -v c="$code" -v a="$trigger" -v b="$again" 'BEGIN { printf "code / trigger (the mean of its two runs): %.2f\n", c / ((a + b) / 2) }'
