#!/usr/bin/env bash
# The external attack suite: schemathesis generates documents from schema.graphql and sends them,
# signed in as a demo practitioner, to a release-like server over the demo town; any answer
# that is a server error, or a GraphQL error that is INTERNAL or has no contract code, fails.
# Then it generates requests from the vendor API's OpenAPI document and sends them with a real
# API client's token: every answer must be documented (status, content type, schema) and none
# a server error. Last, the FHIR answers are parsed with the FHIR models of fhir.resources.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
FHIR_RESOURCES_VERSION=7.1.0
EXAMPLES="${AUDIT_EXAMPLES:-25}"
venv="${CARGO_TARGET_DIR:-target}/audit-venv"
db=patchwork_audit

admin=$(scripts/postgres.sh)
url=$(echo "$admin" | sed -E "s#/[^/?]*(\?.*)?\$#/$db\1#")
psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null

if [ ! -x "$venv/bin/st" ] || [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "audit: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The FHIR models in a venv of their own (they pin their own pydantic).
fhir_venv="${CARGO_TARGET_DIR:-target}/fhir-venv"
if ! "$fhir_venv/bin/python" -c "import fhir.resources" 2>/dev/null; then
  echo "audit: installing fhir.resources $FHIR_RESOURCES_VERSION into $fhir_venv"
  python3 -m venv "$fhir_venv"
  "$fhir_venv/bin/pip" install -q "fhir.resources==$FHIR_RESOURCES_VERSION"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="$url"
export JWT_SECRET="audit-only-secret-$(head -c 24 /dev/urandom | base64 | tr -d '\n')"
export PUBLIC_URL="http://127.0.0.1:$port"
export BIND_ADDR="127.0.0.1:$port"
export PATCHWORK_ENV=production
export MAIL_WORKER=off DAILY_JOBS_HOUR=24 RUST_LOG=warn
# Generated searches come fast; the limit itself is tested elsewhere.
export SEARCH_LIMIT=100000 API_RATE_LIMIT=1000000
bin="${CARGO_TARGET_DIR:-target}/debug/patchwork"
"$bin" seed --fixtures fixtures >/dev/null
"$bin" serve > "${CARGO_TARGET_DIR:-target}/audit-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done

token=$(curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(email: \"tom.whitfield@kestrelbay-council.example\", password: \"kestrel-bay-demo-2026\") { accessToken } }"}' |
  sed -E 's/.*"accessToken":"([^"]+)".*/\1/')

echo "audit: schemathesis against http://127.0.0.1:$port/graphql ($EXAMPLES examples per operation)"
SCHEMATHESIS_HOOKS=tests.attack.hooks PYTHONPATH=. "$venv/bin/st" run schema.graphql \
  --url "http://127.0.0.1:$port/graphql" \
  -H "Authorization: Bearer $token" \
  --checks no_internal_errors \
  --max-examples "$EXAMPLES" --seed 20261122 --workers 2 \
  --phases examples,coverage,fuzzing

# A client of Children's Social Care, registered by its admin, with every scope.
base="http://127.0.0.1:$port"
admin_token=$(curl -sf "$base/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(email: \"grace.adeyemi@kestrelbay-council.example\", password: \"kestrel-bay-demo-2026\") { accessToken } }"}' |
  sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
created=$(curl -sf "$base/graphql" -H 'content-type: application/json' -H "Authorization: Bearer $admin_token" \
  -d '{"query":"mutation { createApiClient(input: { name: \"Audit\", scopes: [CHILDREN_READ, CHILDREN_WRITE, INVOLVEMENTS_WRITE, CONTACTS_WRITE, TEAMS_READ] }) { client { id } clientSecret } }"}')
client_id=$(echo "$created" | sed -E 's/.*"id":"([^"]+)".*/\1/')
client_secret=$(echo "$created" | sed -E 's/.*"clientSecret":"([^"]+)".*/\1/')
client_token=$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials "$base/oauth/token" |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# Schema-valid data may still break a rule the schema cannot state (a date of birth in the
# future, a blank name, a reference with control characters): such a request is refused as
# BAD_USER_INPUT, so "schema-valid means accepted" is not checked; everything else is. One
# worker: with two, Python 3.11's parser trips over hypothesis's lambda descriptions
# ("AST constructor recursion depth mismatch") while generating for the child upsert.
echo "audit: schemathesis against $base/openapi.yaml ($EXAMPLES examples per operation)"
"$venv/bin/st" run "$base/openapi.yaml" \
  --url "$base" \
  -H "Authorization: Bearer $client_token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$EXAMPLES" --seed 20261122 --workers 1 \
  --phases examples,coverage,fuzzing

echo "audit: FHIR answers against the R4 models of fhir.resources"
"$fhir_venv/bin/python" scripts/fhir_check.py "$base" "$token" "$client_token"
