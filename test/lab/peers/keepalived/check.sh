#!/bin/sh
# The standby's MISC_CHECK as the field report's author first had it: the database answers
# through the floating address. (A read-only standby holding the address answers too.)
exec "$PGBIN/psql" -h "$VIP" -p 5432 -U postgres -d postgres -tAc 'select 1;'
