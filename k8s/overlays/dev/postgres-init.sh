#!/bin/bash
# One database and one login role per component, each owning only its own database.
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d).
# EWTP_DATABASES lists the components ("gateway sellers catalogue ..."); <NAME>_DB_PASSWORD holds
# each role's password (from .env in compose, from a Secret in Kubernetes). Nothing secret lives here.
set -euo pipefail

for name in ${EWTP_DATABASES:?EWTP_DATABASES is empty}; do
    var="${name^^}_DB_PASSWORD"
    password="${!var:?$var is not set}"
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        --set=name="$name" --set=password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
done
