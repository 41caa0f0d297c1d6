#!/bin/sh
# Creates one database per service on a fresh PostgreSQL data volume (the postgres image runs the
# scripts of /docker-entrypoint-initdb.d once, when it initialises the volume). Each service owns its
# database alone; `crm migrate` then creates the tables. CRM_DATABASES overrides the list.
set -eu
for database in ${CRM_DATABASES:-crm_customer crm_sales crm_service_desk crm_campaign}; do
  echo "creating database $database"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE \"$database\" OWNER \"$POSTGRES_USER\""
done
