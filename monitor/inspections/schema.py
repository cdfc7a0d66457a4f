"""The inspection store's schema, one version at a time, for SQLite and PostgreSQL.

The database enforces what must never happen: triggers reject any change to a signed record or
its items, any deletion of a round, any change to the audit log, and any change to a closed
follow-up. Version 2 adds the duty page's sign-in sessions, shared by every instance on one
database; a session's person and tokens never change once written. Version 3 adds planned
maintenance windows, which only ever end early, once, and the Alertmanager silence of each.
Version 4 adds the shift log (the duty board's faults, drills, notes, reloads) and the shift
handovers, signed once and acknowledged once. Version 5 records when each plan first appeared
in the store (rounds due before it are not owed) and gives every follow-up a due date. Version 6
adds the photos of checklist items, stored once each by their SHA-256, and which item of which
round shows which photo: a stored photo never changes, and neither a photo nor its link to a
signed round is ever removed. Version 7 adds the rounds signed off line
(``round_submissions``): who sent each, under which idempotency key, when it was signed on the
tablet and when it arrived; a submission is recorded once, with its round's signature, and
never changes.
``monitor.inspections.store`` applies these migrations in order and records each in
``schema_migrations``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MIGRATIONS_TABLE",
    "POSTGRES_MIGRATIONS",
    "REFUSALS",
    "SCHEMA_VERSION",
    "SQLITE_MIGRATIONS",
    "Migration",
]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_TABLES = (
    """CREATE TABLE rounds (
        id TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        target TEXT NOT NULL,
        site TEXT NOT NULL DEFAULT '',
        asset TEXT NOT NULL DEFAULT '',
        system TEXT NOT NULL DEFAULT '',
        period_key TEXT NOT NULL,
        period_start DOUBLE PRECISION NOT NULL,
        period_end DOUBLE PRECISION NOT NULL,
        due_at DOUBLE PRECISION NOT NULL,
        deadline_at DOUBLE PRECISION NOT NULL,
        opened_at DOUBLE PRECISION NOT NULL,
        opened_by TEXT NOT NULL,
        signed_at DOUBLE PRECISION,
        signed_by TEXT,
        corrects TEXT REFERENCES rounds (id),
        reason TEXT NOT NULL DEFAULT '',
        failed_items INTEGER NOT NULL DEFAULT 0,
        discrepancies INTEGER NOT NULL DEFAULT 0,
        CHECK ((signed_at IS NULL) = (signed_by IS NULL))
    )""",
    # One original record per plan, target and period; corrections chain off it, one each.
    """CREATE UNIQUE INDEX rounds_one_per_period ON rounds (plan_id, target, period_start)
        WHERE corrects IS NULL""",
    "CREATE UNIQUE INDEX rounds_one_correction ON rounds (corrects) WHERE corrects IS NOT NULL",
    "CREATE INDEX rounds_by_period ON rounds (period_start)",
    """CREATE TABLE round_items (
        round_id TEXT NOT NULL REFERENCES rounds (id),
        item_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        outcome TEXT NOT NULL,
        value TEXT,
        number DOUBLE PRECISION,
        live_value DOUBLE PRECISION,
        discrepancy INTEGER NOT NULL DEFAULT 0,
        note TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        evaluated_at DOUBLE PRECISION,
        PRIMARY KEY (round_id, item_id)
    )""",
    """CREATE TABLE follow_ups (
        id TEXT PRIMARY KEY,
        round_id TEXT NOT NULL REFERENCES rounds (id),
        plan_id TEXT NOT NULL,
        target TEXT NOT NULL,
        item_id TEXT NOT NULL,
        opened_at DOUBLE PRECISION NOT NULL,
        opened_by TEXT NOT NULL,
        note TEXT NOT NULL,
        closed_at DOUBLE PRECISION,
        closed_by TEXT,
        close_note TEXT NOT NULL DEFAULT ''
    )""",
)

_SIGNED = "signed record is immutable"
_APPEND_ONLY = "audit log is append-only"
_NO_DELETE = "inspection records are never deleted"
_FOLLOW_UP = "a follow-up is only ever closed, once"
_SESSION = "a session's person and tokens never change"
_WINDOW_ENDS = "a maintenance window only ever ends early, once"
_SILENCE_EXPIRES = "a maintenance silence is recorded once and only ever expires, once"
_NO_DELETE_MAINTENANCE = "maintenance records are never deleted"
_FAULT_CLEARS = "a duty fault only ever clears, once"
_DUTY_LOG = "the shift log is append-only"
_HANDOVER = "a signed handover is only ever acknowledged, once"
_PLAN_SEEN = "when a plan first appeared is recorded once"
_PHOTO = "a stored photo never changes"
_PHOTO_SIGNED = "a photo of a signed record is kept as it was"
_SUBMISSION = "an offline submission is recorded once, with the signature of its round"
#: What the triggers say when they refuse a change: the store maps these to RecordImmutable.
REFUSALS = (
    _SIGNED,
    _APPEND_ONLY,
    _NO_DELETE,
    _FOLLOW_UP,
    _SESSION,
    _WINDOW_ENDS,
    _SILENCE_EXPIRES,
    _NO_DELETE_MAINTENANCE,
    _FAULT_CLEARS,
    _DUTY_LOG,
    _HANDOVER,
    _PLAN_SEEN,
    _PHOTO,
    _PHOTO_SIGNED,
    _SUBMISSION,
)

_SQLITE_V1 = (
    *_TABLES,
    """CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at DOUBLE PRECISION NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        round_id TEXT,
        detail TEXT NOT NULL,
        digest TEXT NOT NULL
    )""",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER rounds_signed_immutable BEFORE UPDATE ON rounds
        WHEN OLD.signed_at IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'signed record is immutable'); END""",
    """CREATE TRIGGER rounds_no_delete BEFORE DELETE ON rounds
        BEGIN SELECT RAISE(ABORT, 'inspection records are never deleted'); END""",
    """CREATE TRIGGER rounds_corrects_signed BEFORE INSERT ON rounds
        WHEN NEW.corrects IS NOT NULL
         AND (SELECT signed_at FROM rounds WHERE id = NEW.corrects) IS NULL
        BEGIN SELECT RAISE(ABORT, 'only a signed record can be corrected'); END""",
    """CREATE TRIGGER round_items_signed_insert BEFORE INSERT ON round_items
        WHEN (SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'signed record is immutable'); END""",
    """CREATE TRIGGER round_items_signed_update BEFORE UPDATE ON round_items
        WHEN (SELECT signed_at FROM rounds WHERE id = OLD.round_id) IS NOT NULL
          OR (SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'signed record is immutable'); END""",
    """CREATE TRIGGER round_items_signed_delete BEFORE DELETE ON round_items
        WHEN (SELECT signed_at FROM rounds WHERE id = OLD.round_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'signed record is immutable'); END""",
    """CREATE TRIGGER follow_ups_close_once BEFORE UPDATE ON follow_ups
        WHEN OLD.closed_at IS NOT NULL OR NEW.closed_at IS NULL
          OR NEW.id IS NOT OLD.id OR NEW.round_id IS NOT OLD.round_id
          OR NEW.plan_id IS NOT OLD.plan_id OR NEW.target IS NOT OLD.target
          OR NEW.item_id IS NOT OLD.item_id OR NEW.opened_at IS NOT OLD.opened_at
          OR NEW.opened_by IS NOT OLD.opened_by OR NEW.note IS NOT OLD.note
        BEGIN SELECT RAISE(ABORT, 'a follow-up is only ever closed, once'); END""",
    """CREATE TRIGGER follow_ups_no_delete BEFORE DELETE ON follow_ups
        BEGIN SELECT RAISE(ABORT, 'inspection records are never deleted'); END""",
)

_PG_V1 = (
    *_TABLES,
    """CREATE TABLE audit_log (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        round_id TEXT,
        detail TEXT NOT NULL,
        digest TEXT NOT NULL
    )""",
    """CREATE FUNCTION trunkwatch_reject() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = TG_ARGV[0]; END $$""",
    """CREATE FUNCTION trunkwatch_round_items_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT'
             AND (SELECT signed_at FROM rounds WHERE id = OLD.round_id) IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'signed record is immutable';
          END IF;
          IF TG_OP <> 'DELETE'
             AND (SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'signed record is immutable';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""",
    """CREATE FUNCTION trunkwatch_corrects_signed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.corrects IS NOT NULL
             AND (SELECT signed_at FROM rounds WHERE id = NEW.corrects) IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001',
              MESSAGE = 'only a signed record can be corrected';
          END IF;
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('audit log is append-only')""",
    # TRUNCATE skips row triggers; it needs its own.
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('audit log is append-only')""",
    """CREATE TRIGGER rounds_signed_immutable BEFORE UPDATE ON rounds
        FOR EACH ROW WHEN (OLD.signed_at IS NOT NULL)
        EXECUTE FUNCTION trunkwatch_reject('signed record is immutable')""",
    """CREATE TRIGGER rounds_no_delete BEFORE DELETE ON rounds
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('inspection records are never deleted')""",
    """CREATE TRIGGER rounds_no_truncate BEFORE TRUNCATE ON rounds
        FOR EACH STATEMENT
        EXECUTE FUNCTION trunkwatch_reject('inspection records are never deleted')""",
    """CREATE TRIGGER rounds_corrects_signed BEFORE INSERT ON rounds
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_corrects_signed()""",
    """CREATE TRIGGER round_items_guard BEFORE INSERT OR UPDATE OR DELETE ON round_items
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_round_items_guard()""",
    """CREATE TRIGGER round_items_no_truncate BEFORE TRUNCATE ON round_items
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('signed record is immutable')""",
    """CREATE TRIGGER follow_ups_close_once BEFORE UPDATE ON follow_ups
        FOR EACH ROW WHEN (OLD.closed_at IS NOT NULL OR NEW.closed_at IS NULL
          OR NEW.id IS DISTINCT FROM OLD.id OR NEW.round_id IS DISTINCT FROM OLD.round_id
          OR NEW.plan_id IS DISTINCT FROM OLD.plan_id OR NEW.target IS DISTINCT FROM OLD.target
          OR NEW.item_id IS DISTINCT FROM OLD.item_id
          OR NEW.opened_at IS DISTINCT FROM OLD.opened_at
          OR NEW.opened_by IS DISTINCT FROM OLD.opened_by OR NEW.note IS DISTINCT FROM OLD.note)
        EXECUTE FUNCTION trunkwatch_reject('a follow-up is only ever closed, once')""",
    """CREATE TRIGGER follow_ups_no_delete BEFORE DELETE ON follow_ups
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('inspection records are never deleted')""",
)

# The session id itself is never stored: only its SHA-256, so a copy of the database does not
# sign anyone in. Sessions are deleted (sign-out, expiry); only who and which tokens are fixed.
_SESSIONS = """CREATE TABLE web_sessions (
        token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
        person TEXT NOT NULL,
        csrf TEXT NOT NULL CHECK (length(csrf) >= 16),
        created_at DOUBLE PRECISION NOT NULL,
        last_seen_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        CHECK (last_seen_at >= created_at),
        CHECK (expires_at > created_at)
    )"""
_SESSIONS_BY_EXPIRY = "CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at)"

_SQLITE_V2 = (
    _SESSIONS,
    _SESSIONS_BY_EXPIRY,
    """CREATE TRIGGER web_sessions_fixed BEFORE UPDATE ON web_sessions
        WHEN NEW.token_hash IS NOT OLD.token_hash OR NEW.person IS NOT OLD.person
          OR NEW.csrf IS NOT OLD.csrf OR NEW.created_at IS NOT OLD.created_at
          OR NEW.expires_at IS NOT OLD.expires_at OR NEW.last_seen_at < OLD.last_seen_at
        BEGIN SELECT RAISE(ABORT, 'a session''s person and tokens never change'); END""",
)

_PG_V2 = (
    _SESSIONS,
    _SESSIONS_BY_EXPIRY,
    """CREATE TRIGGER web_sessions_fixed BEFORE UPDATE ON web_sessions
        FOR EACH ROW WHEN (NEW.token_hash IS DISTINCT FROM OLD.token_hash
          OR NEW.person IS DISTINCT FROM OLD.person OR NEW.csrf IS DISTINCT FROM OLD.csrf
          OR NEW.created_at IS DISTINCT FROM OLD.created_at
          OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
          OR NEW.last_seen_at < OLD.last_seen_at)
        EXECUTE FUNCTION trunkwatch_reject('a session''s person and tokens never change')""",
)

# Planned maintenance (计划检修): who takes what out of service, from when, until when, and
# why. A window is only ever ended early, once, by someone; nothing else of it changes, and it
# is never deleted. Its Alertmanager silence is recorded once (the first one created wins, so
# two instances never leave two silences standing) and only ever marked expired, once.
_WINDOWS = """CREATE TABLE maintenance_windows (
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL CHECK (scope IN ('asset', 'site')),
        target TEXT NOT NULL,
        site TEXT NOT NULL,
        starts_at DOUBLE PRECISION NOT NULL,
        ends_at DOUBLE PRECISION NOT NULL,
        reason TEXT NOT NULL CHECK (length(reason) > 0),
        owner TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        round_id TEXT REFERENCES rounds (id),
        ended_at DOUBLE PRECISION,
        ended_by TEXT,
        CHECK (ends_at > starts_at),
        CHECK ((ended_at IS NULL) = (ended_by IS NULL)),
        CHECK (ended_at IS NULL OR (ended_at >= starts_at AND ended_at < ends_at))
    )"""
_SILENCES = """CREATE TABLE maintenance_silences (
        window_id TEXT PRIMARY KEY REFERENCES maintenance_windows (id),
        silence_id TEXT NOT NULL CHECK (length(silence_id) > 0),
        created_at DOUBLE PRECISION NOT NULL,
        expired_at DOUBLE PRECISION
    )"""
_WINDOW_INDEXES = (
    "CREATE INDEX maintenance_windows_by_end ON maintenance_windows (ends_at)",
    # The window an inspection round opened for itself: one per round.
    """CREATE UNIQUE INDEX maintenance_windows_one_per_round ON maintenance_windows (round_id)
        WHERE round_id IS NOT NULL""",
)

_SQLITE_V3 = (
    _WINDOWS,
    _SILENCES,
    *_WINDOW_INDEXES,
    f"""CREATE TRIGGER maintenance_windows_end_once BEFORE UPDATE ON maintenance_windows
        WHEN OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL
          OR NEW.id IS NOT OLD.id OR NEW.scope IS NOT OLD.scope
          OR NEW.target IS NOT OLD.target OR NEW.site IS NOT OLD.site
          OR NEW.starts_at IS NOT OLD.starts_at OR NEW.ends_at IS NOT OLD.ends_at
          OR NEW.reason IS NOT OLD.reason OR NEW.owner IS NOT OLD.owner
          OR NEW.created_at IS NOT OLD.created_at OR NEW.round_id IS NOT OLD.round_id
        BEGIN SELECT RAISE(ABORT, '{_WINDOW_ENDS}'); END""",
    f"""CREATE TRIGGER maintenance_windows_no_delete BEFORE DELETE ON maintenance_windows
        BEGIN SELECT RAISE(ABORT, '{_NO_DELETE_MAINTENANCE}'); END""",
    f"""CREATE TRIGGER maintenance_silences_expire_once BEFORE UPDATE ON maintenance_silences
        WHEN OLD.expired_at IS NOT NULL OR NEW.expired_at IS NULL
          OR NEW.window_id IS NOT OLD.window_id OR NEW.silence_id IS NOT OLD.silence_id
          OR NEW.created_at IS NOT OLD.created_at
        BEGIN SELECT RAISE(ABORT, '{_SILENCE_EXPIRES}'); END""",
    f"""CREATE TRIGGER maintenance_silences_no_delete BEFORE DELETE ON maintenance_silences
        BEGIN SELECT RAISE(ABORT, '{_NO_DELETE_MAINTENANCE}'); END""",
)

_PG_V3 = (
    _WINDOWS,
    _SILENCES,
    *_WINDOW_INDEXES,
    f"""CREATE TRIGGER maintenance_windows_end_once BEFORE UPDATE ON maintenance_windows
        FOR EACH ROW WHEN (OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL
          OR NEW.id IS DISTINCT FROM OLD.id OR NEW.scope IS DISTINCT FROM OLD.scope
          OR NEW.target IS DISTINCT FROM OLD.target OR NEW.site IS DISTINCT FROM OLD.site
          OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
          OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
          OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW.owner IS DISTINCT FROM OLD.owner
          OR NEW.created_at IS DISTINCT FROM OLD.created_at
          OR NEW.round_id IS DISTINCT FROM OLD.round_id)
        EXECUTE FUNCTION trunkwatch_reject('{_WINDOW_ENDS}')""",
    f"""CREATE TRIGGER maintenance_windows_no_delete BEFORE DELETE ON maintenance_windows
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_NO_DELETE_MAINTENANCE}')""",
    f"""CREATE TRIGGER maintenance_windows_no_truncate BEFORE TRUNCATE ON maintenance_windows
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('{_NO_DELETE_MAINTENANCE}')""",
    f"""CREATE TRIGGER maintenance_silences_expire_once BEFORE UPDATE ON maintenance_silences
        FOR EACH ROW WHEN (OLD.expired_at IS NOT NULL OR NEW.expired_at IS NULL
          OR NEW.window_id IS DISTINCT FROM OLD.window_id
          OR NEW.silence_id IS DISTINCT FROM OLD.silence_id
          OR NEW.created_at IS DISTINCT FROM OLD.created_at)
        EXECUTE FUNCTION trunkwatch_reject('{_SILENCE_EXPIRES}')""",
    f"""CREATE TRIGGER maintenance_silences_no_delete BEFORE DELETE ON maintenance_silences
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_NO_DELETE_MAINTENANCE}')""",
    f"""CREATE TRIGGER maintenance_silences_no_truncate BEFORE TRUNCATE ON maintenance_silences
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('{_NO_DELETE_MAINTENANCE}')""",
)

# Shift handover (交接班): the duty board's faults as they were raised and cleared, what people
# and the daemon wrote into the shift log, and each shift's handover. A fault only ever
# clears, once; a log line never changes; a handover is signed once by the outgoing
# technician with the log as it stood, and acknowledged once by someone else. Nothing of them
# is ever deleted.
_FAULTS = """CREATE TABLE duty_faults (
        id TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        asset TEXT NOT NULL,
        site TEXT NOT NULL,
        alert TEXT NOT NULL,
        severity TEXT NOT NULL,
        zh TEXT NOT NULL,
        en TEXT NOT NULL,
        raised_at DOUBLE PRECISION NOT NULL,
        cleared_at DOUBLE PRECISION,
        CHECK (cleared_at IS NULL OR cleared_at >= raised_at)
    )"""
_EVENTS = """CREATE TABLE duty_events (
        id TEXT PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        text TEXT NOT NULL,
        site TEXT NOT NULL DEFAULT '',
        asset TEXT NOT NULL DEFAULT ''
    )"""
_HANDOVERS = """CREATE TABLE handovers (
        shift TEXT PRIMARY KEY,
        shift_start DOUBLE PRECISION NOT NULL,
        shift_end DOUBLE PRECISION NOT NULL,
        outgoing TEXT NOT NULL,
        outgoing_notes TEXT NOT NULL,
        signed_at DOUBLE PRECISION NOT NULL,
        log TEXT NOT NULL,
        log_digest TEXT NOT NULL CHECK (length(log_digest) = 64),
        incoming TEXT,
        incoming_notes TEXT,
        acknowledged_at DOUBLE PRECISION,
        CHECK (shift_end > shift_start),
        CHECK ((incoming IS NULL) = (acknowledged_at IS NULL)),
        CHECK (incoming IS NULL OR incoming <> outgoing)
    )"""
# Each rota (the change-over times) from when it was first in force: handovers are due only
# for shifts that end after the first, never for the time before trunkwatch kept them.
_ROTAS = """CREATE TABLE duty_rotas (
        since DOUBLE PRECISION NOT NULL,
        shifts TEXT NOT NULL CHECK (length(shifts) > 0)
    )"""
_DUTY_INDEXES = (
    # One open fault per board key: two instances observing the same problem write it once.
    "CREATE UNIQUE INDEX duty_faults_one_open ON duty_faults (key) WHERE cleared_at IS NULL",
    "CREATE INDEX duty_faults_by_raised ON duty_faults (raised_at)",
    "CREATE INDEX duty_faults_by_cleared ON duty_faults (cleared_at)",
    "CREATE INDEX duty_events_by_time ON duty_events (at)",
)

_SQLITE_V4 = (
    _FAULTS,
    _EVENTS,
    _HANDOVERS,
    _ROTAS,
    *_DUTY_INDEXES,
    f"""CREATE TRIGGER duty_rotas_no_update BEFORE UPDATE ON duty_rotas
        BEGIN SELECT RAISE(ABORT, '{_DUTY_LOG}'); END""",
    f"""CREATE TRIGGER duty_rotas_no_delete BEFORE DELETE ON duty_rotas
        BEGIN SELECT RAISE(ABORT, '{_DUTY_LOG}'); END""",
    f"""CREATE TRIGGER duty_faults_clear_once BEFORE UPDATE ON duty_faults
        WHEN OLD.cleared_at IS NOT NULL OR NEW.cleared_at IS NULL
          OR NEW.id IS NOT OLD.id OR NEW.key IS NOT OLD.key OR NEW.asset IS NOT OLD.asset
          OR NEW.site IS NOT OLD.site OR NEW.alert IS NOT OLD.alert
          OR NEW.severity IS NOT OLD.severity OR NEW.zh IS NOT OLD.zh OR NEW.en IS NOT OLD.en
          OR NEW.raised_at IS NOT OLD.raised_at
        BEGIN SELECT RAISE(ABORT, '{_FAULT_CLEARS}'); END""",
    f"""CREATE TRIGGER duty_faults_no_delete BEFORE DELETE ON duty_faults
        BEGIN SELECT RAISE(ABORT, '{_DUTY_LOG}'); END""",
    f"""CREATE TRIGGER duty_events_no_update BEFORE UPDATE ON duty_events
        BEGIN SELECT RAISE(ABORT, '{_DUTY_LOG}'); END""",
    f"""CREATE TRIGGER duty_events_no_delete BEFORE DELETE ON duty_events
        BEGIN SELECT RAISE(ABORT, '{_DUTY_LOG}'); END""",
    f"""CREATE TRIGGER handovers_acknowledge_once BEFORE UPDATE ON handovers
        WHEN OLD.acknowledged_at IS NOT NULL OR NEW.acknowledged_at IS NULL
          OR NEW.shift IS NOT OLD.shift OR NEW.shift_start IS NOT OLD.shift_start
          OR NEW.shift_end IS NOT OLD.shift_end OR NEW.outgoing IS NOT OLD.outgoing
          OR NEW.outgoing_notes IS NOT OLD.outgoing_notes OR NEW.signed_at IS NOT OLD.signed_at
          OR NEW.log IS NOT OLD.log OR NEW.log_digest IS NOT OLD.log_digest
        BEGIN SELECT RAISE(ABORT, '{_HANDOVER}'); END""",
    f"""CREATE TRIGGER handovers_no_delete BEFORE DELETE ON handovers
        BEGIN SELECT RAISE(ABORT, '{_HANDOVER}'); END""",
)

_PG_V4 = (
    _FAULTS,
    _EVENTS,
    _HANDOVERS,
    _ROTAS,
    *_DUTY_INDEXES,
    f"""CREATE TRIGGER duty_rotas_no_update BEFORE UPDATE OR DELETE ON duty_rotas
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_DUTY_LOG}')""",
    f"""CREATE TRIGGER duty_faults_clear_once BEFORE UPDATE ON duty_faults
        FOR EACH ROW WHEN (OLD.cleared_at IS NOT NULL OR NEW.cleared_at IS NULL
          OR NEW.id IS DISTINCT FROM OLD.id OR NEW.key IS DISTINCT FROM OLD.key
          OR NEW.asset IS DISTINCT FROM OLD.asset OR NEW.site IS DISTINCT FROM OLD.site
          OR NEW.alert IS DISTINCT FROM OLD.alert OR NEW.severity IS DISTINCT FROM OLD.severity
          OR NEW.zh IS DISTINCT FROM OLD.zh OR NEW.en IS DISTINCT FROM OLD.en
          OR NEW.raised_at IS DISTINCT FROM OLD.raised_at)
        EXECUTE FUNCTION trunkwatch_reject('{_FAULT_CLEARS}')""",
    f"""CREATE TRIGGER duty_faults_no_delete BEFORE DELETE ON duty_faults
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_DUTY_LOG}')""",
    f"""CREATE TRIGGER duty_events_no_update BEFORE UPDATE OR DELETE ON duty_events
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_DUTY_LOG}')""",
    f"""CREATE TRIGGER handovers_acknowledge_once BEFORE UPDATE ON handovers
        FOR EACH ROW WHEN (OLD.acknowledged_at IS NOT NULL OR NEW.acknowledged_at IS NULL
          OR NEW.shift IS DISTINCT FROM OLD.shift
          OR NEW.shift_start IS DISTINCT FROM OLD.shift_start
          OR NEW.shift_end IS DISTINCT FROM OLD.shift_end
          OR NEW.outgoing IS DISTINCT FROM OLD.outgoing
          OR NEW.outgoing_notes IS DISTINCT FROM OLD.outgoing_notes
          OR NEW.signed_at IS DISTINCT FROM OLD.signed_at
          OR NEW.log IS DISTINCT FROM OLD.log OR NEW.log_digest IS DISTINCT FROM OLD.log_digest)
        EXECUTE FUNCTION trunkwatch_reject('{_HANDOVER}')""",
    f"""CREATE TRIGGER handovers_no_delete BEFORE DELETE ON handovers
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_HANDOVER}')""",
    *(
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('{message}')"""
        for table, message in (
            ("duty_faults", _DUTY_LOG),
            ("duty_events", _DUTY_LOG),
            ("duty_rotas", _DUTY_LOG),
            ("handovers", _HANDOVER),
        )
    ),
)

# When each plan first appeared in the store: a plan owes no round due before it (unless its
# configuration says from when it applies). Written once per plan, by whichever instance sees
# it first, and never changed. A store upgraded to this version already knew the plans that
# have rounds: they appeared no later than the first period recorded for them.
_PLAN_STARTS = """CREATE TABLE plan_starts (
        plan_id TEXT PRIMARY KEY,
        first_seen DOUBLE PRECISION NOT NULL
    )"""
_PLAN_STARTS_FROM_ROUNDS = """INSERT INTO plan_starts (plan_id, first_seen)
        SELECT plan_id, MIN(period_start) FROM rounds GROUP BY plan_id"""
# A follow-up's due date is fixed when it is opened (the plan's follow_up_within then). Those
# opened before this version are due seven days after opening, the default.
_FOLLOW_UP_DUE = "ALTER TABLE follow_ups ADD COLUMN due_at DOUBLE PRECISION"
_FOLLOW_UP_DUE_BACKFILL = "UPDATE follow_ups SET due_at = opened_at + 604800 WHERE due_at IS NULL"
_FOLLOW_UPS_BY_DUE = """CREATE INDEX follow_ups_open_by_due ON follow_ups (due_at)
        WHERE closed_at IS NULL"""

_SQLITE_V5 = (
    _PLAN_STARTS,
    _PLAN_STARTS_FROM_ROUNDS,
    f"""CREATE TRIGGER plan_starts_no_update BEFORE UPDATE ON plan_starts
        BEGIN SELECT RAISE(ABORT, '{_PLAN_SEEN}'); END""",
    f"""CREATE TRIGGER plan_starts_no_delete BEFORE DELETE ON plan_starts
        BEGIN SELECT RAISE(ABORT, '{_PLAN_SEEN}'); END""",
    # The close-once trigger is made again so that it also holds the due date; the backfill
    # runs between, while nothing guards the table (the migration is one transaction).
    "DROP TRIGGER follow_ups_close_once",
    _FOLLOW_UP_DUE,
    _FOLLOW_UP_DUE_BACKFILL,
    _FOLLOW_UPS_BY_DUE,
    """CREATE TRIGGER follow_ups_close_once BEFORE UPDATE ON follow_ups
        WHEN OLD.closed_at IS NOT NULL OR NEW.closed_at IS NULL
          OR NEW.id IS NOT OLD.id OR NEW.round_id IS NOT OLD.round_id
          OR NEW.plan_id IS NOT OLD.plan_id OR NEW.target IS NOT OLD.target
          OR NEW.item_id IS NOT OLD.item_id OR NEW.opened_at IS NOT OLD.opened_at
          OR NEW.opened_by IS NOT OLD.opened_by OR NEW.note IS NOT OLD.note
          OR NEW.due_at IS NOT OLD.due_at
        BEGIN SELECT RAISE(ABORT, 'a follow-up is only ever closed, once'); END""",
)

_PG_V5 = (
    _PLAN_STARTS,
    _PLAN_STARTS_FROM_ROUNDS,
    f"""CREATE TRIGGER plan_starts_no_update BEFORE UPDATE OR DELETE ON plan_starts
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_PLAN_SEEN}')""",
    f"""CREATE TRIGGER plan_starts_no_truncate BEFORE TRUNCATE ON plan_starts
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('{_PLAN_SEEN}')""",
    "DROP TRIGGER follow_ups_close_once ON follow_ups",
    _FOLLOW_UP_DUE,
    _FOLLOW_UP_DUE_BACKFILL,
    _FOLLOW_UPS_BY_DUE,
    """CREATE TRIGGER follow_ups_close_once BEFORE UPDATE ON follow_ups
        FOR EACH ROW WHEN (OLD.closed_at IS NOT NULL OR NEW.closed_at IS NULL
          OR NEW.id IS DISTINCT FROM OLD.id OR NEW.round_id IS DISTINCT FROM OLD.round_id
          OR NEW.plan_id IS DISTINCT FROM OLD.plan_id OR NEW.target IS DISTINCT FROM OLD.target
          OR NEW.item_id IS DISTINCT FROM OLD.item_id
          OR NEW.opened_at IS DISTINCT FROM OLD.opened_at
          OR NEW.opened_by IS DISTINCT FROM OLD.opened_by OR NEW.note IS DISTINCT FROM OLD.note
          OR NEW.due_at IS DISTINCT FROM OLD.due_at)
        EXECUTE FUNCTION trunkwatch_reject('a follow-up is only ever closed, once')""",
)

# Photos of checklist items (现场照片): each stored once, under the SHA-256 of its stored bytes
# (EXIF stripped, re-encoded: ``monitor.inspections.photos.image``), with a thumbnail; and which
# item of which round shows which photo. A stored photo never changes. A draft's photos may be
# removed (and a photo no round shows any more with them); a signed round's never.
_PHOTO_LINKS = """CREATE TABLE round_item_photos (
        round_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES photos (sha256),
        position INTEGER NOT NULL,
        added_at DOUBLE PRECISION NOT NULL,
        added_by TEXT NOT NULL,
        PRIMARY KEY (round_id, item_id, sha256),
        FOREIGN KEY (round_id, item_id) REFERENCES round_items (round_id, item_id)
    )"""
_PHOTO_LINKS_BY_PHOTO = "CREATE INDEX round_item_photos_by_photo ON round_item_photos (sha256)"


def _photos_table(blob: str, length: str) -> str:
    return f"""CREATE TABLE photos (
        sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
        media_type TEXT NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
        size INTEGER NOT NULL CHECK (size > 0),
        width INTEGER NOT NULL CHECK (width > 0),
        height INTEGER NOT NULL CHECK (height > 0),
        content {blob} NOT NULL,
        thumbnail {blob} NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        created_by TEXT NOT NULL,
        CHECK ({length}(content) = size)
    )"""


_SIGNED_LINK = """EXISTS (SELECT 1 FROM round_item_photos l JOIN rounds r ON r.id = l.round_id
          WHERE l.sha256 = OLD.sha256 AND r.signed_at IS NOT NULL)"""

_SQLITE_V6 = (
    _photos_table("BLOB", "length"),
    _PHOTO_LINKS,
    _PHOTO_LINKS_BY_PHOTO,
    f"""CREATE TRIGGER photos_fixed BEFORE UPDATE ON photos
        BEGIN SELECT RAISE(ABORT, '{_PHOTO}'); END""",
    f"""CREATE TRIGGER photos_kept BEFORE DELETE ON photos
        WHEN {_SIGNED_LINK}
        BEGIN SELECT RAISE(ABORT, '{_PHOTO_SIGNED}'); END""",
    f"""CREATE TRIGGER round_item_photos_signed_insert BEFORE INSERT ON round_item_photos
        WHEN (SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{_PHOTO_SIGNED}'); END""",  # noqa: S608 - constant text
    f"""CREATE TRIGGER round_item_photos_signed_update BEFORE UPDATE ON round_item_photos
        WHEN (SELECT signed_at FROM rounds WHERE id = OLD.round_id) IS NOT NULL
          OR (SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{_PHOTO_SIGNED}'); END""",  # noqa: S608 - constant text
    f"""CREATE TRIGGER round_item_photos_signed_delete BEFORE DELETE ON round_item_photos
        WHEN (SELECT signed_at FROM rounds WHERE id = OLD.round_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{_PHOTO_SIGNED}'); END""",  # noqa: S608 - constant text
)

_PG_V6 = (
    _photos_table("BYTEA", "octet_length"),
    _PHOTO_LINKS,
    _PHOTO_LINKS_BY_PHOTO,
    f"""CREATE FUNCTION trunkwatch_photos_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = '{_PHOTO}';
          END IF;
          IF {_SIGNED_LINK} THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = '{_PHOTO_SIGNED}';
          END IF;
          RETURN OLD;
        END $$""",
    f"""CREATE FUNCTION trunkwatch_photo_links_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT'
             AND (SELECT signed_at FROM rounds WHERE id = OLD.round_id) IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = '{_PHOTO_SIGNED}';
          END IF;
          IF TG_OP <> 'DELETE'
             AND (SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = '{_PHOTO_SIGNED}';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""",  # noqa: S608 - constant text
    """CREATE TRIGGER photos_guard BEFORE UPDATE OR DELETE ON photos
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_photos_guard()""",
    """CREATE TRIGGER round_item_photos_guard BEFORE INSERT OR UPDATE OR DELETE
        ON round_item_photos FOR EACH ROW EXECUTE FUNCTION trunkwatch_photo_links_guard()""",
    *(
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('{_PHOTO_SIGNED}')"""
        for table in ("photos", "round_item_photos")
    ),
)

# Rounds signed off line (离线签字): the page queues the round with a key of its own (a UUID)
# and sends it when the network returns. The key is the person's: one person's retry finds the
# stored result, another's key never collides with it. ``signed_at`` is the round's signature
# (the time on the tablet, bounded by the service), ``received_at`` the server's when it
# arrived; ``digest`` is the SHA-256 of what was sent, so a key sent again with other content
# is told apart from a retry. Written in the transaction that signs the round, never changed.
_SUBMISSIONS = """CREATE TABLE round_submissions (
        person TEXT NOT NULL,
        key TEXT NOT NULL CHECK (length(key) = 36),
        round_id TEXT NOT NULL UNIQUE REFERENCES rounds (id),
        digest TEXT NOT NULL CHECK (length(digest) = 64),
        signed_at DOUBLE PRECISION NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (person, key),
        CHECK (received_at >= signed_at)
    )"""
_SUBMISSION_SIGNED = "(SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS NOT NEW.signed_at"
_PG_SUBMISSION_SIGNED = (
    "(SELECT signed_at FROM rounds WHERE id = NEW.round_id) IS DISTINCT FROM NEW.signed_at"
)

_SQLITE_V7 = (
    _SUBMISSIONS,
    f"""CREATE TRIGGER round_submissions_signed BEFORE INSERT ON round_submissions
        WHEN {_SUBMISSION_SIGNED}
        BEGIN SELECT RAISE(ABORT, '{_SUBMISSION}'); END""",
    f"""CREATE TRIGGER round_submissions_no_update BEFORE UPDATE ON round_submissions
        BEGIN SELECT RAISE(ABORT, '{_SUBMISSION}'); END""",
    f"""CREATE TRIGGER round_submissions_no_delete BEFORE DELETE ON round_submissions
        BEGIN SELECT RAISE(ABORT, '{_SUBMISSION}'); END""",
)

_PG_V7 = (
    _SUBMISSIONS,
    f"""CREATE FUNCTION trunkwatch_submission_signed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF {_PG_SUBMISSION_SIGNED} THEN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = '{_SUBMISSION}';
          END IF;
          RETURN NEW;
        END $$""",
    """CREATE TRIGGER round_submissions_signed BEFORE INSERT ON round_submissions
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_submission_signed()""",
    f"""CREATE TRIGGER round_submissions_fixed BEFORE UPDATE OR DELETE ON round_submissions
        FOR EACH ROW EXECUTE FUNCTION trunkwatch_reject('{_SUBMISSION}')""",
    f"""CREATE TRIGGER round_submissions_no_truncate BEFORE TRUNCATE ON round_submissions
        FOR EACH STATEMENT EXECUTE FUNCTION trunkwatch_reject('{_SUBMISSION}')""",
)

SQLITE_MIGRATIONS = (
    Migration(1, "rounds, items, follow-ups, audit log", _SQLITE_V1),
    Migration(2, "duty page sessions", _SQLITE_V2),
    Migration(3, "planned maintenance windows and their silences", _SQLITE_V3),
    Migration(4, "shift log and handovers", _SQLITE_V4),
    Migration(5, "when each plan first appeared; follow-up due dates", _SQLITE_V5),
    Migration(6, "photos of checklist items", _SQLITE_V6),
    Migration(7, "rounds signed off line", _SQLITE_V7),
)
POSTGRES_MIGRATIONS = (
    Migration(1, "rounds, items, follow-ups, audit log", _PG_V1),
    Migration(2, "duty page sessions", _PG_V2),
    Migration(3, "planned maintenance windows and their silences", _PG_V3),
    Migration(4, "shift log and handovers", _PG_V4),
    Migration(5, "when each plan first appeared; follow-up due dates", _PG_V5),
    Migration(6, "photos of checklist items", _PG_V6),
    Migration(7, "rounds signed off line", _PG_V7),
)
SCHEMA_VERSION = SQLITE_MIGRATIONS[-1].version
assert POSTGRES_MIGRATIONS[-1].version == SCHEMA_VERSION

MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""
