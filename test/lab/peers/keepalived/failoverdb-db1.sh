#!/bin/sh
# The field report's failoverdb.sh on the primary's host: stop keepalived here (the address moves
# to the standby), then promote the standby over ssh (here: in db2's network namespace).
echo "Start to failover the database."
kill "$(cat "$KA_DIR/keepalived-db1.pid")"
ip netns exec "$DB2_NETNS" runuser -u postgres -- "$PGBIN/pg_ctl" promote -D "$KA_DIR/db2/data"
echo 'Failover operation is completed.'
