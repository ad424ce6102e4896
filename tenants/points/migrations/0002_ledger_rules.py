"""The ledger's rules, enforced by PostgreSQL itself.

- Postings of a transaction sum to zero, and a transaction has at least two:
  checked at commit by deferred constraint triggers.
- Postings and transactions are never updated or deleted.
- A posting moves its account's balance (in the same transaction, under the
  row lock the UPDATE takes); nothing else may change a balance.

The functions name tables through ``TG_TABLE_SCHEMA``, never through the
search path: deferred triggers run at commit, when the connection may already
point at another schema, and must still check their own tenant's books.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION points_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points ledger rows are immutable (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER points_posting_immutable BEFORE UPDATE OR DELETE ON points_posting
    FOR EACH ROW EXECUTE FUNCTION points_refuse_change();
CREATE TRIGGER points_posting_no_truncate BEFORE TRUNCATE ON points_posting
    FOR EACH STATEMENT EXECUTE FUNCTION points_refuse_change();
CREATE TRIGGER points_transaction_immutable BEFORE UPDATE OR DELETE ON points_transaction
    FOR EACH ROW EXECUTE FUNCTION points_refuse_change();
CREATE TRIGGER points_transaction_no_truncate BEFORE TRUNCATE ON points_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION points_refuse_change();

CREATE FUNCTION points_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    lines integer;
BEGIN
    EXECUTE format(
        'SELECT coalesce(sum(amount), 0), count(*) FROM %I.points_posting '
        'WHERE transaction_id = $1', TG_TABLE_SCHEMA)
        INTO total, lines USING NEW.transaction_id;
    IF total <> 0 OR lines < 2 THEN
        RAISE EXCEPTION 'points transaction % is unbalanced (sum %, % postings)',
            NEW.transaction_id, total, lines USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER points_posting_balanced AFTER INSERT ON points_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION points_check_balanced();

CREATE FUNCTION points_check_has_postings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lines integer;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I.points_posting WHERE transaction_id = $1',
                   TG_TABLE_SCHEMA) INTO lines USING NEW.id;
    IF lines < 2 THEN
        RAISE EXCEPTION 'points transaction % has fewer than two postings', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER points_transaction_has_postings AFTER INSERT ON points_transaction
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION points_check_has_postings();

CREATE FUNCTION points_apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %I.points_account SET balance = balance + $1 WHERE id = $2',
                   TG_TABLE_SCHEMA) USING NEW.amount, NEW.account_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER points_posting_moves_balance AFTER INSERT ON points_posting
    FOR EACH ROW EXECUTE FUNCTION points_apply_posting();

CREATE FUNCTION points_guard_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'a points balance changes only through postings'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER points_account_balance_guard BEFORE UPDATE ON points_account
    FOR EACH ROW EXECUTE FUNCTION points_guard_balance();
CREATE FUNCTION points_guard_new_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.balance <> 0 THEN
        RAISE EXCEPTION 'a points account opens with a zero balance'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER points_account_opens_at_zero BEFORE INSERT ON points_account
    FOR EACH ROW EXECUTE FUNCTION points_guard_new_balance();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS points_account_opens_at_zero ON points_account;
DROP FUNCTION IF EXISTS points_guard_new_balance();
DROP TRIGGER IF EXISTS points_account_balance_guard ON points_account;
DROP FUNCTION IF EXISTS points_guard_balance();
DROP TRIGGER IF EXISTS points_posting_moves_balance ON points_posting;
DROP FUNCTION IF EXISTS points_apply_posting();
DROP TRIGGER IF EXISTS points_transaction_has_postings ON points_transaction;
DROP FUNCTION IF EXISTS points_check_has_postings();
DROP TRIGGER IF EXISTS points_posting_balanced ON points_posting;
DROP FUNCTION IF EXISTS points_check_balanced();
DROP TRIGGER IF EXISTS points_transaction_no_truncate ON points_transaction;
DROP TRIGGER IF EXISTS points_transaction_immutable ON points_transaction;
DROP TRIGGER IF EXISTS points_posting_no_truncate ON points_posting;
DROP TRIGGER IF EXISTS points_posting_immutable ON points_posting;
DROP FUNCTION IF EXISTS points_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
