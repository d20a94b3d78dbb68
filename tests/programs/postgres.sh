# PostgreSQL 15 in the sandbox: initdb, start, pgbench -i -s 1, a 5-second pgbench, a query, a
# fast shutdown. Runs as the postgres user (setpriv), with its data and socket in /tmp.
set -e
B=/usr/lib/postgresql/15/bin
run() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
rm -rf /tmp/pgdata /tmp/pgsock
mkdir -p /tmp/pgdata /tmp/pgsock
chown postgres:postgres /tmp/pgdata /tmp/pgsock
run $B/initdb -D /tmp/pgdata -A trust -U postgres > /tmp/initdb.log 2>&1 || { tail -20 /tmp/initdb.log; exit 1; }
echo "initdb: ok"
run $B/pg_ctl -D /tmp/pgdata -o "-k /tmp/pgsock -c listen_addresses=''" -l /tmp/pg.log -w start > /dev/null \
    || { tail -30 /tmp/pg.log; exit 2; }
echo "start: ok"
run $B/pgbench -h /tmp/pgsock -U postgres -i -s 1 postgres > /tmp/pgbench-init.log 2>&1 \
    || { tail /tmp/pgbench-init.log; exit 3; }
echo "pgbench -i: ok"
run $B/pgbench -h /tmp/pgsock -U postgres -T 5 postgres 2>&1 \
    | grep -E "^(number of transactions actually processed|number of failed transactions)"
echo "accounts: $(run $B/psql -h /tmp/pgsock -U postgres -Atc 'select count(*) from pgbench_accounts')"
run $B/pg_ctl -D /tmp/pgdata -m fast -t 60 -w stop > /dev/null || { tail -30 /tmp/pg.log; exit 4; }
echo "stop: ok"
