#!/bin/sh
# The field report's failoverdb.sh on the standby's host: stop keepalived here, promote locally.
echo "Start to failover the database."
kill "$(cat "$KA_DIR/keepalived-db2.pid")"
runuser -u postgres -- "$PGBIN/pg_ctl" promote -D "$KA_DIR/db2/data"
echo 'Failover operation is completed.'
